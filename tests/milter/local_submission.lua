-- Local submission (Postfix sendmail/pickup): cleanup(8) pretends
-- localhost [127.0.0.1] and sends no {daemon_addr}.  run.sh leaves
-- 127.0.0.0/8 out of internal_networks, so only the local rule applies.
dofile(dir .. "/common.lua")
local conn = open({ addr = "127.0.0.1", host = "localhost",
    daemon_addr = false })
local r = message(conn, { qid = "LOCAL1", from = "root@mx.example.org",
    rcpts = { "bob@example.org" } })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(tagged(conn), "local submission not tagged")
mt.disconnect(conn)

-- The same client over SMTP (with {daemon_addr}) is outside.
conn = open({ addr = "127.0.0.1", host = "localhost" })
r = message(conn, { qid = "LOCAL2" })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(not tagged(conn), "loopback SMTP tagged as local submission")
mt.disconnect(conn)

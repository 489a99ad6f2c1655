-- Envelope addresses with and without angle brackets (SMTP sends them
-- with, sendmail/pickup without); run.sh checks the spooled record.
dofile(dir .. "/common.lua")
local conn = open({ addr = "10.0.0.9" })
local r = message(conn, { qid = "BRK1", from = "Alice@Example.ORG",
    rcpts = { "<bob@Example.org>", "carol@example.org", "<dave@ext.test>" } })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(tagged(conn), "not tagged")
mt.disconnect(conn)

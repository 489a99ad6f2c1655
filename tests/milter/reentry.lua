-- A message that comes back from inside with a valid tag (a Sieve
-- redirect, a resubmission) is a re-entry: not tagged again, tag kept.
dofile(dir .. "/common.lua")
local conn = open({ addr = "192.0.2.7" })
local r = message(conn, { qid = "RE1", auth = "alice" })
check(r == SMFIR_CONTINUE, "first reply " .. tostring(r))
local tok = tag_value(conn)
check(valid_format(tok), "no tag on the first message")
mt.disconnect(conn)

conn = open({ addr = "127.0.0.1", host = "localhost", daemon_addr = false })
r = message(conn, { qid = "RE2", from = "alice@example.org",
    rcpts = { "carol@example.org" },
    headers = { { "X-Recall-ID", tok }, { "Subject", "fwd" } } })
check(r == SMFIR_CONTINUE, "re-entry reply " .. tostring(r))
check(not tagged(conn), "re-entry tagged again")
check(not mt.eom_check(conn, MT_HDRCHANGE, "X-Recall-ID") and
    not mt.eom_check(conn, MT_HDRDELETE, "X-Recall-ID"), "valid tag removed")
mt.disconnect(conn)

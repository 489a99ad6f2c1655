-- Recall by mail: an authenticated request to the recall address with
-- "Recall: <id>" in the Subject is discarded (the client gets 250) and
-- spooled as a recall_request (run.sh checks the spool).
dofile(dir .. "/common.lua")
local conn = open({ addr = "192.0.2.7" })
local r = message(conn, { qid = "REQ1", auth = "alice",
    rcpts = { "<recall@example.org>" },
    headers = { { "Subject", "RECALL: orig.1@host.example.org" } } })
check(r == SMFIR_DISCARD, "reply " .. tostring(r) .. ", want discard")
check(not tagged(conn), "a discarded request was tagged")
mt.disconnect(conn)

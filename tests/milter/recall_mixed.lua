-- A request that also goes to someone else: only the recall address is
-- removed (smfi_delrcpt); the rest is tagged and delivered normally.
dofile(dir .. "/common.lua")
local conn = open({ addr = "192.0.2.7" })
local r = message(conn, { qid = "REQ5", auth = "alice",
    rcpts = { "<bob@example.org>", "<recall@example.org>" },
    headers = { { "Subject", "Recall: <orig.5@host.example.org>" } } })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(mt.eom_check(conn, MT_RCPTDELETE, "<recall@example.org>"),
    "recall address not removed")
check(tagged(conn), "the rest not tagged")
mt.disconnect(conn)

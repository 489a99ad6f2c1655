-- Outside mail with several forged tags in odd case, one folded: all are
-- removed, none is added.
dofile(dir .. "/common.lua")
local conn = open({ addr = "198.51.100.9", host = "mail.ext.test" })
local r = message(conn, { qid = "OUT1", from = "<eve@ext.test>",
    headers = {
	{ "X-Recall-ID", "r1-000000000000000000000000-00000000000000000000000000000000" },
	{ "x-recall-id", "forged" },
	{ "Subject", "between" },
	{ "X-RECALL-ID", "r1-aaaaaaaaaaaaaaaaaaaaaaaa-\r\n\tbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" },
    } })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(mt.eom_check(conn, MT_HDRCHANGE, "X-Recall-ID") or
    mt.eom_check(conn, MT_HDRDELETE, "X-Recall-ID"), "forged tags not removed")
check(not tagged(conn), "outside mail tagged")
mt.disconnect(conn)

-- Authenticated mail from an outside address is tagged once, gets a
-- Message-ID when it has none, and is accepted.
dofile(dir .. "/common.lua")
local conn = open({ addr = "192.0.2.7" })
local r = message(conn, { qid = "AUTH1", auth = "alice",
    headers = { { "Subject", "no message-id" } } })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(tagged(conn), "not tagged")
check(valid_format(tag_value(conn)), "bad token " .. tostring(tag_value(conn)))
check(mt.getheader(conn, "X-Recall-ID", 1) == nil, "tagged twice")
check(mt.eom_check(conn, MT_HDRADD, "Message-ID"), "no Message-ID added")
mt.disconnect(conn)

-- Inside mail with a tag that does not verify: removed and replaced.
dofile(dir .. "/common.lua")
local conn = open({ addr = "10.0.0.5" })
local r = message(conn, { qid = "BAD1", headers = {
    { "X-Recall-ID", "r1-0123456789abcdef01234567-0123456789abcdef0123456789abcdef" } } })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(mt.eom_check(conn, MT_HDRCHANGE, "X-Recall-ID") or
    mt.eom_check(conn, MT_HDRDELETE, "X-Recall-ID"), "bad tag kept")
check(tagged(conn), "not re-tagged")
check(tag_value(conn) ~= "r1-0123456789abcdef01234567-0123456789abcdef0123456789abcdef",
    "bad tag re-added")
mt.disconnect(conn)

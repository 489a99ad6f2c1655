-- Huge and malformed headers: long values, 8-bit junk, empty values,
-- odd names, many headers, a body with a NUL byte.
dofile(dir .. "/common.lua")
local conn = open({ addr = "10.0.0.8" })
local hdrs = {
	{ "Subject", string.rep("S", 900) },
	{ "Message-ID", "<not\255valid utf8 \1\2>" },
	{ "X-Empty", "" },
	{ "X-Recall-ID", "" },
	{ "X-Weird.Name!", "v" },
}
for i = 1, 500 do hdrs[#hdrs + 1] = { "X-Filler-" .. i, string.rep("f", 200) } end
local r = message(conn, { qid = "HUGE1", headers = hdrs,
    body = string.rep("line of body text\r\n", 2000) .. "nul:\0:end\r\n" })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(tagged(conn), "not tagged")
check(mt.eom_check(conn, MT_HDRCHANGE, "X-Recall-ID") or
    mt.eom_check(conn, MT_HDRDELETE, "X-Recall-ID"), "empty tag kept")
check(not mt.eom_check(conn, MT_HDRADD, "Message-ID"),
    "malformed Message-ID duplicated")
mt.disconnect(conn)

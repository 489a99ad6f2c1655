-- No {i} at end of message: the mail still passes, tagged (the record
-- has no queue id and a warning is logged).
dofile(dir .. "/common.lua")
local conn = open({ addr = "10.0.0.6" })
local r = message(conn, { qid = nil })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(tagged(conn), "not tagged")
mt.disconnect(conn)

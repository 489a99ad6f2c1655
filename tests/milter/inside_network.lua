-- Mail from milter.internal_networks (10.0.0.0/8 in run.sh) is tagged;
-- an existing Message-ID is left alone.
dofile(dir .. "/common.lua")
local conn = open({ addr = "10.20.30.40", host = "ws.example.org" })
local r = message(conn, { qid = "NET1", headers = {
    { "Message-ID", "<net1@ws.example.org>" }, { "Subject", "hi" } } })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(tagged(conn), "not tagged")
check(not mt.eom_check(conn, MT_HDRADD, "Message-ID"), "Message-ID added")
mt.disconnect(conn)

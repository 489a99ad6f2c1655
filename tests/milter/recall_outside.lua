-- Recall by mail from outside (no authentication): the recall address is
-- refused at RCPT with 550 5.7.1; so is an unauthenticated client in
-- internal_networks.
dofile(dir .. "/common.lua")
for _, addr in ipairs({ "192.0.2.66", "10.1.1.1" }) do
	local conn = open({ addr = addr })
	mt.macro(conn, SMFIC_MAIL, "i", "REQ4")
	check(mt.mailfrom(conn, "<eve@ext.test>") == nil, "mailfrom")
	check(mt.rcptto(conn, "<recall@example.org>") == nil, "rcptto")
	local r = mt.getreply(conn)
	check(r == SMFIR_REPLYCODE, addr .. ": reply " .. tostring(r) ..
	    ", want replycode (550)")
	mt.disconnect(conn)
end

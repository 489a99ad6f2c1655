-- Recall by mail from outside (no authentication): RCPT needs no reply, so
-- the refusal comes at end of message: 550 5.7.1 when the recall address
-- is the only recipient; with other recipients the recall address alone is
-- removed and the others get the message.  The same for an
-- unauthenticated client in internal_networks.
dofile(dir .. "/common.lua")
local mixed_qid = { ["192.0.2.66"] = "REQ8", ["10.1.1.1"] = "REQ9" }
for _, addr in ipairs({ "192.0.2.66", "10.1.1.1" }) do
	local conn = open({ addr = addr })
	local r = message(conn, { qid = "REQ4", from = "<eve@ext.test>",
	    rcpts = { "<recall@example.org>" },
	    headers = { { "Subject", "Recall: <x@example.org>" } } })
	check(r == SMFIR_REPLYCODE, addr .. ": reply " .. tostring(r) ..
	    ", want replycode (550)")
	mt.disconnect(conn)

	conn = open({ addr = addr })
	r = message(conn, { qid = mixed_qid[addr], from = "<eve@ext.test>",
	    rcpts = { "<recall@example.org>", "<bob@example.org>" },
	    headers = { { "Subject", "Recall: <x@example.org>" } } })
	check(r == SMFIR_CONTINUE, addr .. ": mixed: reply " .. tostring(r) ..
	    ", want continue")
	check(mt.eom_check(conn, MT_RCPTDELETE, "<recall@example.org>"),
	    addr .. ": mixed: the recall address is removed")
	mt.disconnect(conn)
end

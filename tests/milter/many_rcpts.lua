-- 1,000 recipients in one message.
dofile(dir .. "/common.lua")
local conn = open({ addr = "10.0.0.7" })
local rcpts = {}
for i = 1, 1000 do
	rcpts[i] = string.format("<user%d@%s>", i,
	    i % 2 == 0 and "example.org" or "ext.test")
end
local r = message(conn, { qid = "MANY1", rcpts = rcpts })
check(r == SMFIR_CONTINUE, "reply " .. tostring(r))
check(tagged(conn), "not tagged")
mt.disconnect(conn)

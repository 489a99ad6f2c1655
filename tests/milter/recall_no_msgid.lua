-- Recall by mail without a Message-ID anywhere: 550 5.6.0 with a text
-- that says what to do.
dofile(dir .. "/common.lua")
local conn = open({ addr = "192.0.2.7" })
local r = message(conn, { qid = "REQ3", auth = "alice",
    rcpts = { "<recall@example.org>" },
    headers = { { "Subject", "please recall my last mail" } } })
check(r == SMFIR_REPLYCODE, "reply " .. tostring(r) .. ", want replycode")
check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.6.0",
    "recall request without a Message-ID: put \"Recall: <message-id>\" " ..
    "in the Subject or attach the original message"), "wrong 5.6.0 reply")
mt.disconnect(conn)

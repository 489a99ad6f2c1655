-- Recall by mail with the original attached as message/rfc822: the
-- Message-ID of the attached message's header is the one recalled.
dofile(dir .. "/common.lua")
local conn = open({ addr = "192.0.2.7" })
local r = message(conn, { qid = "REQ2", auth = "alice",
    rcpts = { "recall@example.org" },
    headers = { { "Subject", "Fwd: oops" },
        { "Content-Type", "multipart/mixed; boundary=\"xx\"" } },
    body = "--xx\r\nContent-Type: text/plain\r\n\r\nplease\r\n" ..
        "--xx\r\nContent-Type: message/rfc822\r\n\r\n" ..
        "From: alice@example.org\r\nMessage-ID: <att.2@host.example.org>\r\n" ..
        "Subject: oops\r\n\r\nsecret\r\n--xx--\r\n" })
check(r == SMFIR_DISCARD, "reply " .. tostring(r) .. ", want discard")
mt.disconnect(conn)

-- common.lua - helpers for the recall-milter miltertest scripts.
-- run.sh passes -D sock=unix:/path -D dir=tests/milter; each script does
--   dofile(dir .. "/common.lua")
-- The milter negotiates SMFIP_NOHELO/NOEOH/NODATA and no-reply steps, so
-- scripts never call mt.helo, mt.eoh or mt.data (miltertest refuses them).

function fail(msg)
	mt.echo("# " .. msg)
	error(msg)
end

function check(cond, msg)
	if not cond then fail(msg) end
end

-- Connect and negotiate; opts.host, opts.addr, opts.daemon_addr (default
-- true: an SMTP server address, as smtpd(8) sends).
function open(opts)
	opts = opts or {}
	local conn = mt.connect(sock, 20, 0.1)
	if conn == nil then fail("cannot connect to " .. sock) end
	check(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")
	if opts.daemon_addr ~= false then
		mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.org",
		    "{daemon_addr}", "192.0.2.1")
	else
		mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.org")
	end
	check(mt.conninfo(conn, opts.host or "client.example",
	    opts.addr or "192.0.2.7") == nil, "conninfo")
	return conn
end

-- One transaction: opts.qid, opts.auth, opts.from, opts.rcpts (list),
-- opts.headers (list of {name, value}), opts.body.  Returns the EOM reply.
function message(conn, opts)
	if opts.auth then
		mt.macro(conn, SMFIC_MAIL, "i", opts.qid or "", "{auth_authen}",
		    opts.auth)
	elseif opts.qid then
		mt.macro(conn, SMFIC_MAIL, "i", opts.qid)
	else
		mt.macro(conn, SMFIC_MAIL, "{mail_addr}", "x")
	end
	check(mt.mailfrom(conn, opts.from or "<alice@example.org>") == nil,
	    "mailfrom")
	for _, r in ipairs(opts.rcpts or { "<bob@example.org>" }) do
		check(mt.rcptto(conn, r) == nil, "rcptto " .. r)
	end
	for _, h in ipairs(opts.headers or { { "Subject", "test" } }) do
		check(mt.header(conn, h[1], h[2]) == nil, "header " .. h[1])
	end
	check(mt.bodystring(conn, opts.body or "hello\r\n") == nil, "body")
	check(mt.eom(conn) == nil, "eom")
	return mt.getreply(conn)
end

function tagged(conn)
	return mt.eom_check(conn, MT_HDRADD, "X-Recall-ID")
end

function tag_value(conn)
	return mt.getheader(conn, "X-Recall-ID", 0)
end

function valid_format(t)
	return t ~= nil and #t == 60 and
	    string.match(t, "^r1%-%x+%-%x+$") ~= nil
end

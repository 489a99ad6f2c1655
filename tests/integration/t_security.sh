#!/bin/bash
# t_security.sh - hostile and careless input end to end: another user's
# message, an outside copy of a real tag, odd Message-IDs and addresses
# (quotes, semicolons, 10 KB, non-ASCII), NUL bytes, oversized and
# malformed frames, and relayed (on_behalf_of) requests from an untrusted
# caller.  Nothing may be removed that should not be, nothing may crash,
# and every refusal is audited.
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_sec_out
ERR=$LAB/log/t_sec_err
alive() { read -r p _ < "$LAB/run/recalld.pid" && kill -0 "$p"; }
# raw_frame PYTHON-BYTES-EXPR: send that payload as one frame (or raw bytes
# with RAW=1) to recalld, print the answer payload.
raw() {
	python3 - "$RECALLD_SOCKET" "$1" "${RAW:-0}" <<'PY'
import socket, struct, sys
path, expr, raw = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
data = eval(expr)
s = socket.socket(socket.AF_UNIX)
s.connect(path)
buf = b""
try:
    s.sendall(data if raw else struct.pack(">I", len(data)) + data)
    s.shutdown(socket.SHUT_WR)
    while True:
        b = s.recv(65536)
        if not b:
            break
        buf += b
except OSError as e:
    # recalld may answer and close before reading everything we send.
    print("# connection: %s" % e, file=sys.stderr)
print(buf[4:].decode("utf-8", "replace"))
PY
}
# A unix user that speaks for rcsec@example.test.
id -u rcsec > /dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin rcsec 2>/dev/null
id -u rcsec > /dev/null 2>&1 || { not_ok "test user rcsec"; exit 1; }

# ---- 1. someone else's message ---------------------------------------------------

send_mail alice@example.test bob@example.test --auth alice \
    --subject "sec 1" || not_ok "1: submit"
M1=$MSGID
wait_queue_empty 20
wait_delivered bob 1
ctl_as rcsec recall "$M1"
check "1: rcsec recalling alice's message is refused (exit 2)" test "$RC" = 2
check "1: ... saying why" grep -q 'rcsec@example.test may not recall this message' "$ERR"
check "1: nothing removed" test "$(mail_count bob)" = 1
check "1: no request recorded" \
    test "$(psql_lab "select count(*) from recall_request where requested_by = 'rcsec'")" = 0
check "1: the attempt is audited (who, what, why)" \
    test "$(psql_lab "select count(*) from audit_log where action = 'refusal' and actor = 'rcsec' and detail::jsonb->>'ref' = '$M1' and detail::jsonb->>'why' like '%sent by someone else%'")" = 1
ctl_as rcsec status "$M1"
check "1: nor may rcsec see its status (exit 2)" test "$RC" = 2
ctl_as rcsec recall "$M1" --as rcsec@example.test
check "1: --as does not help a user" test "$RC" = 2
ctl_as rcsec recall "$M1" --on-behalf-of alice@example.test --via mail
check "1: an untrusted user cannot relay on_behalf_of (exit 2)" test "$RC" = 2
check "1: ... and that is audited" \
    test "$(psql_lab "select count(*) from audit_log where action = 'refusal' and actor = 'rcsec' and detail::jsonb->>'on_behalf_of' = 'alice@example.test'")" = 1
check "1: bob's copy is still there" test "$(mail_count bob)" = 1

# ---- 2. relayed requests (recall by mail, as the milter sends them) -----------------

ctl --json recall "$M1" --on-behalf-of carol@example.test --via mail
check "2: root relaying for carol: carol may not recall alice's mail" test "$RC" = 2
check "2: refusal audited as carol, relayed by root" \
    test "$(psql_lab "select count(*) from audit_log where action = 'refusal' and actor = 'carol@example.test' and detail::jsonb->>'relayed_by' = 'root'")" = 1
ctl --json recall "$M1" --on-behalf-of alice@example.test --via mail
check "2: root relaying for alice: recalled (exit 0)" test "$RC" = 0
check "2: recorded as alice's request via mail, report to alice" \
    test "$(psql_lab "select requested_by || ' ' || via || ' ' || report_to from recall_request where id = $(jq -r .request "$OUT")")" = "alice@example.test mail alice@example.test"
check "2: bob's copy gone" test "$(mail_count bob)" = 0

# ---- 3. an outside copy of a real tag is never removed -----------------------------

send_mail alice@example.test carol@example.test --auth alice \
    --subject "sec 3 real" || not_ok "3: submit"
M3=$MSGID
wait_queue_empty 20
wait_delivered carol 1
TOK=$(doveadm_fetch carol 'hdr.x-recall-id' mailbox INBOX all | grep '^r1-')
send_mail eve@ext.test carol@example.test --from-ip 127.0.0.5 \
    --header "X-Recall-ID: $TOK" --subject "sec 3 outside copy" ||
    not_ok "3: outside submit"
wait_queue_empty 20
wait_delivered carol 2
check "3: the outside copy's tag was stripped on the way in" \
    test "$(doveadm_fetch carol 'hdr.x-recall-id' mailbox INBOX subject 'outside copy' | grep -c '^r1-')" = 0
ctl recall "$M3"
check "3: the recall removes the real copy" \
    test "$(mail_count carol mailbox INBOX subject 'sec 3 real')" = 0
check "3: the outside copy stays" \
    test "$(mail_count carol mailbox INBOX subject 'outside copy')" = 1

# ---- 4. odd Message-IDs and addresses -----------------------------------------------

odd_ids=('<q"uo\"te;semi@example.test>' "<semi;colon'x@example.test>" '<tëst.ünïcode@example.test>')
i=0
for id in "${odd_ids[@]}"; do
	i=$((i + 1))
	send_mail alice@example.test dave@example.test --auth alice \
	    --message-id "$id" --subject "sec 4.$i" --quiet
	wait_queue_empty 20
	ctl --json recall "$id"
	case $RC in
	0) ok "4.$i: Message-ID $id recalled" ;;
	2) if jq -e '.error | length > 0' "$OUT" > /dev/null; then
		ok "4.$i: Message-ID $id refused with a clear error ($(jq -r .error "$OUT"))"
	   else
		not_ok "4.$i: Message-ID $id: exit 2 without an error text"
	   fi ;;
	*) not_ok "4.$i: Message-ID $id: exit $RC" ;;
	esac
	check "4.$i: recalld alive" alive
done
LONG="<$(head -c 10240 /dev/zero | tr '\0' 'a')@example.test>"
ctl recall "$LONG"
check "4: a 10 KB Message-ID is refused (exit 2)" test "$RC" = 2
check "4: ... clearly" grep -q 'longer than' "$ERR"
send_mail alice@example.test dave@example.test --auth alice \
    --header "Message-Id: $LONG" --subject "sec 4 long" --quiet
wait_queue_empty 20
check "4: a 10 KB Message-ID header does not stop the mail flow" \
    wait_delivered dave 1
ctl recall "$M3" --as "$(head -c 10240 /dev/zero | tr '\0' 'b')@example.test"
check "4: a 10 KB --as address is refused (exit 2)" test "$RC" = 2
ctl recall "$M3" --dry-run --as '"odd;name"@ext.test'
check "4: a quoted, semicolon address as --as works (dry run)" test "$RC" -le 2
check "4: recalld alive" alive
send_mail alice@example.test erin@example.test --auth alice \
    --subject "sec 4 report" || not_ok "4: submit"
M4=$MSGID
wait_queue_empty 20
wait_delivered erin 1
ctl recall "$M4" --as '"x;$(touch /tmp/pwned-recall)"@ext.test'
check "4: a hostile --as address is just an address" \
    eval "test $RC = 0 && test ! -e /tmp/pwned-recall"
check "4: its report went to that address (sendmail argv, no shell)" \
    test "$(psql_lab "select detail::jsonb->>'sent' from audit_log where action = 'report' order by seq desc limit 1")" = true
ctl history --sender 'ü@exämple.test' --format json
check "4: non-ASCII filter: answered, no crash" test "$RC" = 0

# ---- 5. frames and requests ---------------------------------------------------------

raw 'b"{\"op\":\"recall\",\"ref\":\"a\\u0000@b\"}"' > "$OUT"
check "5: a NUL (\\u0000) in a request value is refused" \
    jq -e '.code == "bad-request" and (.error | test("NUL|\\\\u0000|control"))' "$OUT"
raw 'b"{\"op\":\"recall\",\"ref\":\"a\x00@b\"}"' > "$OUT"
check "5: a raw NUL byte in a frame is refused" \
    jq -e '.error | test("NUL")' "$OUT"
raw 'b"{\"op\":\"recall\",\"ref\":"' > "$OUT"
check "5: truncated JSON: bad-request" \
    jq -e '.code == "bad-request"' "$OUT"
raw 'b"[1,2,3]"' > "$OUT"
check "5: not an object: bad-request" \
    jq -e '.code == "bad-request"' "$OUT"
raw 'b"{\"op\":\"history\",\"limit\":-1}"' > "$OUT"
check "5: history limit -1: bad-request" \
    jq -e '.code == "bad-request"' "$OUT"
RAW=1 raw 'b"\xff\xff\xff\xff" + b"x" * 100' > "$OUT"
check "5: a frame longer than the limit: an error answer" \
    jq -e '.error | length > 0' "$OUT"
raw 'b"{\"op\":\"recall\",\"ref\":\"" + b"x" * 70000 + b"\"}"' > "$OUT" 2>/dev/null
check "5: a 70 KB request: refused (error answer or closed)" \
    eval "! grep -q '\"request\"' '$OUT'"
RAW=1 raw 'b"\x00\x00"' > /dev/null
check "5: recalld survived every frame" alive
ctl --json recall "$M3" --dry-run
check "5: and still answers" test "$RC" -le 2 -a "$(jq -r .request "$OUT")" != null
ctl audit verify
check "5: the audit chain is intact" test "$RC" = 0

done_testing

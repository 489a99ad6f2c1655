#!/bin/bash
# t_routes.sh - one case per route a copy can take (issue #4), each with
# real clients against the lab's real Postfix and Dovecot: recalld follows
# both logs into the route ledger and decides every copy on it.
#
#   POP3 RETR, POP3 TOP+DELE          -> left-pop3
#   IMAP BODY[] / BODY.PEEK[] from a desktop address (127.0.0.2) -> left-imap
#   IMAP from the sync gateway (127.0.0.3)                        -> left-mobile
#   webmail listener, BODY.PEEK[] only -> recalled; BODY[] -> read
#   virtual alias forwarding outside   -> left-forwarded
#   alias fanning out to two mailboxes -> two copies, both recalled
#   list address                       -> left-list
#   not delivered yet (LMTP down)      -> pending, then recalled on retry
#   a client with the mailbox selected sees the expunge
#   a .forward to outside (a child queue file, crafted log lines) -> left-forwarded
#                                      for that copy, the kept one recalled
#   log lines that are not UTF-8 (Latin-1 reply, raw 8-bit mailbox name) -> read as '?' 
# plus recallctl trace and recall --dry-run on the ledger.
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_routes_out
ERR=$LAB/log/t_routes_err

# outcomes RECIPIENT: that recipient's outcomes in $OUT, sorted, one line.
outcomes() {
	jq -r --arg r "$1" '[.copies[] | select(.recipient == $r) | .outcome] | sort | join(" ")' "$OUT"
}
# reasons_of RECIPIENT: all that recipient's reasons in $OUT, " | " between.
reasons_of() {
	jq -r --arg r "$1" '[.copies[] | select(.recipient == $r) | .reason] | join(" | ")' "$OUT"
}

# log_count ERE: matching lines in the Dovecot log.
log_count() { grep -Ec -- "$1" "$DOVECOT_LOG"; }

# wait_more ERE N: until the Dovecot log has more than N matching lines:
# the access is logged before we ask recalld to decide.
wait_more() {
	wait_for 10 eval "[ \$(log_count '$1') -gt $2 ]" ||
	    diag "no new Dovecot log line matching $1"
}

# deliver TO [--subject S]: alice sends one message to TO and waits until
# the queue is empty; sets MSGID.
deliver() {
	local to=$1
	shift
	send_mail alice@example.test "$to" --auth alice "$@" --quiet ||
	    diag "send to $to failed: $SMTP_REPLY"
	wait_queue_empty 20 > /dev/null
}

# uid_of USER MSGID: the IMAP uid of that message in USER's INBOX.
uid_of() {
	doveadm_fetch "$1" uid mailbox INBOX header Message-ID "$2" | sed -n 2p
}

# imap_cmd USER PORT FROM-IP COMMAND: log in, SELECT INBOX, run COMMAND
# (curl's custom request), log out.
imap_cmd() {
	curl -sS --interface "$3" --user "$1:${1}pw" \
	    "imap://127.0.0.1:$2/INBOX" -X "$4"
}

OPENED='"event":"mail_opened"'

# ---- 1. POP3 RETR ----------------------------------------------------------
deliver bob@example.test --subject "routes pop3 retr"
M=$MSGID
wait_delivered bob 1
n=$(log_count "$OPENED.*pop3:cmd_retr")
check "pop3 retr: message downloaded" \
    eval "pop3_read bob 1 --from-ip 127.0.0.2 | grep -q 'routes pop3 retr'"
wait_more "$OPENED.*pop3:cmd_retr" "$n"
ctl --json recall "$M" --dry-run
check "pop3 retr: dry run says left-pop3" test "$(outcomes bob@example.test)" = left-pop3
ctl --json recall "$M"
check "pop3 retr: left-pop3" test "$(outcomes bob@example.test)" = left-pop3
check "pop3 retr: reason names POP3 and the address" \
    eval "reasons_of bob@example.test | grep -q 'POP3 from 127.0.0.2'"
check "pop3 retr: the copy stays" test "$(mail_count bob)" = 1

# ---- 2. POP3 TOP + DELE (fetchmail nokeep), one session ---------------------
deliver carol@example.test --subject "routes pop3 top"
M=$MSGID
wait_delivered carol 1
n=$(log_count "$OPENED.*pop3:cmd_top")
python3 "$LIB_DIR/pop3client.py" "$POP3_PORT" carol 127.0.0.2 \
    "TOP 1 0" "DELE 1" | diag
wait_more "$OPENED.*pop3:cmd_top" "$n"
wait_output 10 0 mail_count carol
ctl --json recall "$M"
check "pop3 top+dele: left-pop3 (not not-found)" \
    test "$(outcomes carol@example.test)" = left-pop3

# ---- 3. IMAP BODY[] from a desktop address -----------------------------------
deliver dave@example.test --subject "routes imap body"
M=$MSGID
wait_delivered dave 1
n=$(log_count "$OPENED.*imap:fetch_body")
check "imap body[]: downloaded from 127.0.0.2" \
    eval "imap_read dave 1 --from-ip 127.0.0.2 | grep -q 'routes imap body'"
wait_more "$OPENED.*imap:fetch_body" "$n"
ctl --json recall "$M"
check "imap body[]: left-imap (before read)" test "$(outcomes dave@example.test)" = left-imap
check "imap body[]: reason names IMAP and 127.0.0.2" \
    eval "reasons_of dave@example.test | grep -q 'IMAP from 127.0.0.2'"

# ---- 4. IMAP BODY.PEEK[] from a desktop address ------------------------------
deliver erin@example.test --subject "routes imap peek"
M=$MSGID
wait_delivered erin 1
U=$(uid_of erin "$M")
n=$(log_count "$OPENED.*imap:fetch_body")
imap_cmd erin "$IMAP_PORT" 127.0.0.2 "UID FETCH $U BODY.PEEK[]" > /dev/null
wait_more "$OPENED.*imap:fetch_body" "$n"
check "imap peek: the copy is still unseen" \
    eval "! doveadm_fetch erin flags mailbox INBOX uid $U | grep -q Seen"
ctl --json recall "$M"
check "imap peek: left-imap although unseen" test "$(outcomes erin@example.test)" = left-imap
check "imap peek: the copy stays" test "$(mail_count erin)" = 1

# ---- 5. the sync gateway ------------------------------------------------------
deliver alice@example.test --subject "routes mobile"
M=$MSGID
wait_delivered alice 1
U=$(uid_of alice "$M")
n=$(log_count "$OPENED.*imap:fetch_body")
imap_cmd alice "$IMAP_PORT" 127.0.0.3 "UID FETCH $U BODY.PEEK[]" > /dev/null
wait_more "$OPENED.*imap:fetch_body" "$n"
ctl --json recall "$M"
check "sync gateway: left-mobile" test "$(outcomes alice@example.test)" = left-mobile
check "sync gateway: reason names the gateway" \
    eval "reasons_of alice@example.test | grep -q 'mobile device through 127.0.0.3'"

# ---- 6. webmail only peeks: still recalled -------------------------------------
deliver bob@example.test --subject "routes webmail peek"
M=$MSGID
wait_delivered bob 2
U=$(uid_of bob "$M")
n=$(log_count "$OPENED.*imap:fetch_body")
imap_cmd bob "$WEBMAIL_PORT" 127.0.0.1 "UID FETCH $U BODY.PEEK[]" > /dev/null
wait_more "$OPENED.*imap:fetch_body" "$n"
ctl --json recall "$M"
check "webmail peek: recalled" test "$(outcomes bob@example.test)" = recalled
check "webmail peek: the copy is gone (doveadm)" \
    test -z "$(uid_of bob "$M")"
check "webmail peek: bob's other message stays" test "$(mail_count bob)" = 1
ctl --json trace "$M"
check "webmail peek: the trace shows the inside read" \
    test "$(jq '[.events[] | select(.event == "read-inside")] | length' "$OUT")" -ge 1

# ---- 7. webmail reads: read -----------------------------------------------------
deliver dave@example.test --subject "routes webmail read"
M=$MSGID
wait_delivered dave 2
U=$(uid_of dave "$M")
n=$(log_count "$OPENED.*imap:fetch_body")
check "webmail read: downloaded on the webmail port" \
    eval "imap_read dave $U --port $WEBMAIL_PORT | grep -q 'routes webmail read'"
wait_more "$OPENED.*imap:fetch_body" "$n"
ctl --json recall "$M"
check "webmail read: read" test "$(outcomes dave@example.test)" = read

# ---- 8. virtual alias forwarding outside ------------------------------------------
deliver fwd@example.test --subject "routes fwd"
M=$MSGID
ctl --json recall "$M" --dry-run
check "forward: dry run says left-forwarded" test "$(outcomes fwd@example.test)" = left-forwarded
ctl --json recall "$M"
check "forward: left-forwarded" test "$(outcomes fwd@example.test)" = left-forwarded
check "forward: reason names outside@ext.test" \
    eval "reasons_of fwd@example.test | grep -q 'outside@ext.test'"

# ---- 9. alias fanning out to two local mailboxes -----------------------------------
deliver team@example.test --subject "routes team"
M=$MSGID
wait_for 10 test -n "$(uid_of carol "$M")"
wait_for 10 test -n "$(uid_of bob "$M")"
ctl --json recall "$M" --dry-run
check "fan-out: dry run shows two copies that would be recalled" \
    test "$(outcomes team@example.test)" = "recalled recalled"
ctl --json recall "$M"
check "fan-out: two copies, both recalled" \
    test "$(outcomes team@example.test)" = "recalled recalled"
check "fan-out: complete (exit 0)" test "$RC" = 0
check "fan-out: each reason names its copy" \
    eval "reasons_of team@example.test | grep -q 'copy for bob@example.test' && reasons_of team@example.test | grep -q 'copy for carol@example.test'"
check "fan-out: bob's and carol's copies are gone (doveadm)" \
    test -z "$(uid_of bob "$M")$(uid_of carol "$M")"
check "fan-out: two outcome rows, keyed by copy" \
    test "$(psql_lab "select string_agg(copy_addr || '=' || outcome, ' ' order by copy_addr) from recall_outcome o join recall_request r on r.id = o.request_id where not r.dry_run and r.id = $(jq -r .request "$OUT")")" = "bob@example.test=recalled carol@example.test=recalled"
ctl trace "$M"
check "trace: table with a header and both deliveries" \
    eval "head -n 1 '$OUT' | grep -q '^AT  *RECIPIENT  *EVENT  *DETAIL' && grep -c ' delivered ' '$OUT' | grep -qx 2"
ctl --json trace "$M"
check "trace --json: SPEC's keys" \
    test "$(jq -r '[keys_unsorted[]] | join(",")' "$OUT"),$(jq -r '[.events[] | keys | join(",")] | unique | join(";")' "$OUT")" = "message_id,events,at,detail,event,recipient"
check "trace --json: events in time order, the expunges included" \
    test "$(jq -r '[.events[].at] as $a | ($a == ($a | sort)) and ([.events[] | select(.event == "expunged")] | length >= 2)' "$OUT")" = true
runuser -u nobody -- "${LAB_BIN_DIR:-$REPO/build/bin}/recallctl" \
    -c "$RECALL_CONF" trace "$M" > "$OUT" 2> "$ERR"
check "trace: another user is refused (exit 2)" test $? = 2

# ---- 10. a list address --------------------------------------------------------------
deliver all-staff@example.test --subject "routes list"
M=$MSGID
ctl --json recall "$M"
check "list: left-list" test "$(outcomes all-staff@example.test)" = left-list
check "list: reason names the list" \
    eval "reasons_of all-staff@example.test | grep -q 'list@lists.example.test'"

# ---- 11. not delivered yet: pending, then recalled on retry ----------------------------
LMTP=$LAB/dovecot/run/lmtp
mv "$LMTP" "$LMTP.off"
n=$(grep -c 'status=deferred' "$MAILLOG")
send_mail alice@example.test erin@example.test --auth alice \
    --subject "routes pending" --quiet
M=$MSGID
wait_for 15 eval "[ \$(grep -c 'status=deferred' '$MAILLOG') -gt $n ]"
ctl --json recall "$M"
check "pending: not delivered yet" test "$(outcomes erin@example.test)" = pending
check "pending: reason says it will be retried" \
    eval "reasons_of erin@example.test | grep -q 'not delivered yet; will be retried'"
check "pending: the request is failed (exit 2)" test "$RC" = 2
mv "$LMTP.off" "$LMTP"
postqueue -c "$POSTFIX_CONF" -f
# recalld retries the pending copy by itself (RECALL_RETRY_MIN = 30 s after
# the decision, checked every 10 s): no second recallctl recall.
retried() {
	ctl --json status "$M" && [ "$(outcomes erin@example.test)" = recalled ]
}
wait_for 90 retried
ctl --json status "$M"
check "pending: retried by recalld after delivery: recalled" \
    test "$(outcomes erin@example.test)" = recalled
check "pending: status shows the request complete (exit 0)" \
    test "$RC" = 0 -a "$(jq -r .status "$OUT")" = complete
check "pending: the copy is gone (doveadm)" test -z "$(uid_of erin "$M")"
check "pending: one outcome row for erin (the pending one replaced)" \
    test "$(jq '[.copies[] | select(.recipient == "erin@example.test")] | length' "$OUT")" = 1
check "pending: the retry is audited" \
    test "$(psql_lab "select count(*) from audit_log where action = 'retry'")" -ge 1
check "pending: the final report is mailed once" \
    test "$(grep -c "request $(jq -r .request "$OUT"): report mailed" "$LAB/log/recalld.log")" = 2
ctl --json recall "$M"
check "pending: recalling again after the retry stays recalled" \
    test "$(outcomes erin@example.test)" = recalled

# ---- 12. a client with the mailbox selected sees the expunge -----------------------------
deliver alice@example.test --subject "routes selected"
M=$MSGID
wait_for 10 test -n "$(uid_of alice "$M")"
exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT"
imap_say() { printf '%s\r\n' "$1" >&3; }
# imap_until TAG: read lines until the tagged reply; print them.
imap_until() {
	local line
	while IFS= read -r -t 10 line <&3; do
		printf '%s\n' "${line%$'\r'}"
		case "$line" in "$1 "*) return 0 ;; esac
	done
	return 1
}
read -r -t 10 greeting <&3
imap_say "a1 LOGIN alice alicepw"; imap_until a1 > /dev/null
imap_say "a2 SELECT INBOX"; sel=$(imap_until a2)
diag "SELECT: $(printf '%s' "$sel" | grep -E 'EXISTS|OK \[' | tr '\r\n' '  ')"
ctl --json recall "$M"
check "selected: recalled while a session has INBOX selected" \
    test "$(outcomes alice@example.test)" = recalled
imap_say "a3 NOOP"; noop=$(imap_until a3)
check "selected: NOOP shows the expunge" \
    eval "printf '%s\n' \"\$noop\" | grep -qE '^\* [0-9]+ EXPUNGE'"
imap_say "a4 LOGOUT"; imap_until a4 > /dev/null
exec 3<&-

# ---- 13. a .forward to outside: a child queue file -----------------------------------
# bob's ".forward" says "\bob, bob-home@ext.test": his own copy is
# delivered (here by LMTP), the outside one goes in a child queue file.  The
# lab has no local(8) users, so the lines local(8) and smtp(8) log for the
# child (FACTS-postfix.md) are appended to the Postfix log by hand, at once: recalld reads them in one batch, the parent's
# "forwarded as CHILD" before the child's own lines, which must find the
# message through the queue_link row the first one writes.
deliver bob@example.test --subject "routes dot-forward"
M=$MSGID
P=$QID
C=$(printf 'F%010X' $((RANDOM * 32768 + RANDOM)))
RID=$(psql_lab "select recall_id from messages where message_id = '$M'")
now=$(LC_ALL=C date '+%b %e %H:%M:%S')
{
	printf '%s mx postfix/local[901]: %s: to=<bob@example.test>, relay=local, delay=0.06, delays=0.01/0/0/0.05, dsn=2.0.0, status=sent (forwarded as %s)\n' "$now" "$P" "$C"
	printf '%s mx postfix/qmgr[902]: %s: from=<alice@example.test>, size=621, nrcpt=1 (queue active)\n' "$now" "$C"
	printf '%s mx postfix/smtp[903]: %s: to=<bob-home@ext.test>, orig_to=<bob@example.test>, relay=127.0.0.1[127.0.0.1]:%s, delay=0.04, delays=0.04/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n' "$now" "$C" "$SINK_PORT"
} >> "$MAILLOG"
ctl --json recall "$M" --dry-run
check "dot-forward: the child's queue file is linked to its parent" \
    test "$(psql_lab "select count(*) from queue_link where child_qid = '$C' and parent_qid = '$P' and recall_id = '$RID'")" = 1
check "dot-forward: the child's delivery belongs to the message" \
    test "$(psql_lab "select count(*) from route_event where queue_id = '$C' and recall_id = '$RID' and event = 'relayed'")" = 1
check "dot-forward: the forwarded copy left, the kept one is recallable" \
    test "$(outcomes bob@example.test)" = "left-forwarded recalled"
check "dot-forward: reason names bob-home@ext.test" \
    eval "reasons_of bob@example.test | grep -q 'bob-home@ext.test'"

# ---- 14. log lines that are not UTF-8 ------------------------------------------------
# A remote server's reply in Latin-1 (Postfix logs it as it came) and a
# Dovecot line with a raw 8-bit byte: PostgreSQL takes only UTF-8, so
# such a line must not stop the follower (it used to fail its batch at
# every attempt).  The bytes are read as '?', the lines after them too.
BQ=$(printf 'E%010X' $((RANDOM * 32768 + RANDOM)))
now=$(LC_ALL=C date '+%b %e %H:%M:%S')
{
	printf '%s mx postfix/smtp[904]: %s: to=<x@ext.test>, relay=127.0.0.1[127.0.0.1]:25, delay=0.1, delays=0/0/0/0.1, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 Benutzer unbekannt \374 (in reply to RCPT TO command))\n' "$now" "$BQ"
	printf '%s mx postfix/smtp[904]: %s: to=<y@ext.test>, relay=127.0.0.1[127.0.0.1]:25, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n' "$now" "$BQ"
} >> "$MAILLOG"
printf '%s imap(bob)<905><Zm9vYmFyYmF6cXV4>: Info: copy from INBOX: box=Caf\351, uid=7, msgid=<latin1@ext.test>, size=10\n' \
    "$now" >> "$DOVECOT_LOG"
deliver carol@example.test --subject "routes after 8-bit lines"
M=$MSGID
wait_delivered carol 1
ctl --json recall "$M" --dry-run
check "8-bit: the Latin-1 reply is in the ledger, read as '?'" \
    test "$(psql_lab "select count(*) from route_event where queue_id = '$BQ' and event = 'bounced' and detail like '%unbekannt ? (in reply%'")" = 1
check "8-bit: the line after it too" \
    test "$(psql_lab "select count(*) from route_event where queue_id = '$BQ' and event = 'relayed'")" = 1
check "8-bit: the Dovecot line is in the ledger" \
    test "$(psql_lab "select count(*) from route_event where source = 'dovecot' and mailbox = 'Caf?' and uid = 7")" = 1
check "8-bit: no batch failed on an encoding" \
    eval "! grep -q 'invalid byte sequence' '$LAB/log/recalld.log'"
check "8-bit: mail delivered after them is still followed" \
    test "$(outcomes carol@example.test)" = recalled

done_testing

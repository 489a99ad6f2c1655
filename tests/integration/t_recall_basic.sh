#!/bin/bash
# t_recall_basic.sh - a real recall, end to end: recall-milter tags and
# records in a real Postfix, Dovecot delivers, recallctl asks recalld, which
# finds the copies through the doveadm HTTP API, keeps them in quarantine
# and expunges the unread ones.  Every removal is checked through Dovecot,
# not through our own report.
. "$(dirname "$0")/lib.sh"
lab_start

RFC3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
OUT=$LAB/log/t_recall_out
ERR=$LAB/log/t_recall_err

# count USER: messages in USER's mailboxes, as Dovecot sees them.
count() { mail_count "$1"; }

# ---- 1. alice -> bob, carol, x@ext.test; carol reads hers -------------------

send_mail alice@example.test bob@example.test carol@example.test x@ext.test \
    --auth alice --subject "t_recall 1" || not_ok "1: submit"
M1=$MSGID
wait_queue_empty 20
wait_delivered bob 1
wait_delivered carol 1
check "1: bob's copy carries the tag" \
    test "$(doveadm_fetch bob 'hdr.x-recall-id' mailbox INBOX all | grep -c '^r1-')" = 1
RID=$(psql_lab "select recall_id from messages where message_id = '$M1'")
check "1: the milter recorded the message" test -n "$RID"
# In webmail (the inside listener): read, not downloaded (t_routes.sh has
# the IMAP download from outside, which is left-imap).
check "1: carol reads her copy in webmail" \
    eval "imap_read carol 1 --port $WEBMAIL_PORT | grep -q 't_recall 1'"
check "1: carol's copy is \\Seen" \
    eval "doveadm_fetch carol flags mailbox INBOX all | grep -q 'Seen'"

# ---- 2. dry run: the same answer, nothing changed ---------------------------

ctl --json recall "$M1" --dry-run
check "2: dry run exits 1 (partial)" test "$RC" = 1
check "2: dry run says bob would be recalled" \
    test "$(outcome_of bob@example.test)" = recalled
check "2: dry run reason says would" \
    eval "jq -r '.copies[0].reason' '$OUT' | grep -q 'would be recalled'"
check "2: dry run leaves bob's copy" test "$(count bob)" = 1
check "2: dry run keeps nothing in quarantine" \
    test "$(psql_lab 'select count(*) from quarantine')" = 0
check "2: dry run recorded as such" \
    test "$(psql_lab "select count(*) from recall_request where recall_id = '$RID' and dry_run")" = 1

# ---- 3. the recall -----------------------------------------------------------

ctl --json recall "$M1"
check "3: recall exits 1 (partial)" test "$RC" = 1
diag < "$OUT"
check "3: one JSON object with SPEC's keys" \
    test "$(jq -r 'keys_unsorted | join(",")' "$OUT")" = "request,message_id,status,copies"
check "3: status partial" test "$(jq -r .status "$OUT")" = partial
check "3: message_id is the Message-ID" test "$(jq -r .message_id "$OUT")" = "$M1"
REQ=$(jq -r .request "$OUT")
check "3: request id names a recorded request" \
    test "$(psql_lab "select status from recall_request where id = '$REQ'")" = partial
check "3: bob recalled" test "$(outcome_of bob@example.test)" = recalled
check "3: carol read" test "$(outcome_of carol@example.test)" = read
check "3: x@ext.test left-external" test "$(outcome_of x@ext.test)" = left-external
check "3: every copy has recipient, outcome, reason, RFC 3339 at" \
    test "$(jq -r --arg re "$RFC3339" '[.copies[] | select((.reason | length) > 0 and (.at | test($re)) and (keys | sort == ["at","outcome","reason","recipient"]))] | length' "$OUT")" = 3
check "3: bob's copy is gone (doveadm)" test "$(count bob)" = 0
check "3: carol's copy stays (doveadm)" test "$(count carol)" = 1
check "3: bob's copy is in quarantine, whole, for 30 days" \
    test "$(psql_lab "select count(*) from quarantine q join recall_request r on r.id = q.request_id where r.id = '$REQ' and q.recipient = 'bob@example.test' and q.store_user = 'bob' and q.mailbox = 'INBOX' and position('t_recall 1' in convert_from(q.message, 'UTF8')) > 0 and position('X-Recall-ID: r1-$RID' in convert_from(q.message, 'UTF8')) > 0 and q.expires_at - q.stored_at = interval '30 days' and q.purged_at is null")" = 1
check "3: three outcomes recorded" \
    test "$(psql_lab "select string_agg(recipient || '=' || outcome, ' ' order by recipient) from recall_outcome where request_id = '$REQ'")" = "bob@example.test=recalled carol@example.test=read x@ext.test=left-external"
check "3: auditors see it in recall_history" \
    test "$(psql_lab "select count(*) from recall_history where request_id = '$REQ' and sender = 'alice@example.test'")" = 3

# ---- 4. the table and status -------------------------------------------------

ctl status "$M1"
check "4: status of the last request exits 1" test "$RC" = 1
check "4: table has a header and one line per copy" \
    test "$(grep -cE '^(RECIPIENT|bob@example.test +recalled|carol@example.test +read|x@ext.test +left-external) ' "$OUT")" = 4
check "4: summary line" \
    grep -qF "request $REQ: partial, 1 of 3 copies recalled (message $M1)" "$OUT"
ctl --json status "$REQ"
check "4: status by request id" test "$(jq -r .request "$OUT")" = "$REQ"
ctl --json status "$RID"
check "4: status by recall id (the real request, not the dry run)" \
    test "$(jq -r .request "$OUT")" = "$REQ"
ctl recall "$M1"
check "4: recalling again is idempotent for bob" \
    grep -qE "^bob@example.test +recalled .*already recalled by request $REQ" "$OUT"

# ---- 5. one unread recipient: complete, exit 0 ---------------------------------

send_mail alice@example.test dave@example.test --auth alice \
    --subject "t_recall 5" || not_ok "5: submit"
M5=$MSGID
wait_queue_empty 20
wait_delivered dave 1
bare=${M5#<}
ctl recall "${bare%>}"			# a Message-ID without <> works too
check "5: complete exits 0" test "$RC" = 0
check "5: summary says complete" grep -q ': complete, 1 of 1 copy recalled' "$OUT"
check "5: dave's copy is gone (doveadm)" test "$(count dave)" = 0

# ---- 6. references that name nothing, and refusals -----------------------------

ctl recall '<no-such-message@example.test>'
check "6: unknown Message-ID exits 2" test "$RC" = 2
check "6: with a clear message" grep -q 'no message with Message-ID <no-such-message@example.test> is recorded' "$ERR"
ctl --json recall 0123456789abcdef01234567
check "6: unknown recall id exits 2 with a JSON error" \
    test "$RC" = 2 -a "$(jq -r .code "$OUT")" = not-found
ctl recall 'not a message id'
check "6: a malformed reference exits 2" test "$RC" = 2
send_mail alice@example.test erin@example.test --auth alice \
    --subject "t_recall 6" || not_ok "6: submit"
M6=$MSGID
wait_queue_empty 20
wait_delivered erin 1
runuser -u nobody -- "${LAB_BIN_DIR:-$REPO/build/bin}/recallctl" \
    -c "$RECALL_CONF" recall "$M6" > "$OUT" 2> "$ERR"
RC=$?
check "6: another user's mail is refused (exit 2)" test "$RC" = 2
check "6: refusal says why" grep -q 'may not recall this message' "$ERR"
check "6: nothing removed after a refusal" test "$(count erin)" = 1
ctl recall
check "6: a missing MSGREF is a usage error (64)" test "$RC" = 64
send_mail alice@example.test erin@example.test --auth alice \
    --message-id '<twice@example.test>' --subject "t_recall 6a" ||
    not_ok "6: submit twice (1)"
send_mail alice@example.test erin@example.test --auth alice \
    --message-id '<twice@example.test>' --subject "t_recall 6b" ||
    not_ok "6: submit twice (2)"
wait_queue_empty 20
wait_delivered erin 3
TWICE=$(psql_lab "select string_agg(recall_id, ' ') from messages where message_id = '<twice@example.test>'")
ctl recall '<twice@example.test>'
check "6: a Message-ID naming two messages is refused (exit 2)" test "$RC" = 2
check "6: the refusal lists both recall ids" \
    eval "for id in $TWICE; do grep -q \$id '$ERR' || exit 1; done"
check "6: nothing removed after an ambiguous reference" test "$(count erin)" = 3
ctl recall "${TWICE%% *}"
check "6: one of them recalled by its recall id" test "$RC" = 0
check "6: exactly that copy is gone (doveadm)" test "$(count erin)" = 2

# ---- 7. recalld stopped ------------------------------------------------------------

read -r RPID _ < "$LAB/run/recalld.pid"
kill "$RPID"
wait_for 10 eval "! kill -0 $RPID 2>/dev/null"
check "7: recalld removes its socket on SIGTERM" test ! -e "$RECALLD_SOCKET"
ctl recall "$M6"
check "7: recalld unavailable exits 69" test "$RC" = 69
check "7: and says so" grep -q 'recalld is not available' "$ERR"
check "7: erin's copies untouched" test "$(count erin)" = 2

done_testing

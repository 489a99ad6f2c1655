#!/bin/bash
# tests/lab/selftest.sh - checks the lab itself: mail flows, logs and events
# appear where recalld expects them, the APIs answer, "down" leaves nothing.
# Runs with or without recall-milter/recalld (LAB_NO_MILTER=1 ...).
# Output: "ok - NAME" / "not ok - NAME" lines. Needs root.

. "$(dirname "$0")/../integration/lib.sh"

lab_start

check "lab.sh status" "$LAB_SH" status "$LAB"
check "postgres answers" test "$(psql_lab 'SELECT 1')" = 1
if [ -f "$REPO/schema/install.sql" ] && [ "${LAB_NO_SCHEMA:-0}" != 1 ]; then
	check "schema roles exist" test "$(psql_lab "SELECT count(*) FROM pg_roles
	    WHERE rolname IN ('recall_milter','recalld','recall_auditor')")" = 3
fi

# Inside, authenticated: two local mailboxes (one through an alias fan-out
# that also names bob again) and one external recipient.
if send_mail alice@example.test bob@example.test team@example.test x@ext.test \
    --auth alice --subject "lab selftest 1"; then
	ok "send inside mail"
else
	not_ok "send inside mail"
fi
M1=$MSGID
Q1=$QID
check "queue empties" wait_queue_empty
check "bob has it" wait_delivered bob 1
check "carol has it (team@ fan-out)" wait_delivered carol 1
check "bob has one copy, not two" test "$(mail_count bob header message-id "$M1")" = 1
check "ext.test sink has it" test -n "$(sink_files "^Message-Id: $M1")"
check "maillog: smtpd client line with sasl_username" \
    grep -q "$Q1: client=.*sasl_method=XCLIENT, sasl_username=alice" "$MAILLOG"
check "maillog: carol delivered via lmtp, orig_to team@" \
    grep -q "$Q1: to=<carol@example.test>, orig_to=<team@example.test>, relay=.*lmtp.*status=sent" "$MAILLOG"
check "maillog: x@ext.test sent to the sink" \
    grep -q "$Q1: to=<x@ext.test>, relay=127.0.0.1\[127.0.0.1\]:$SINK_PORT, .*status=sent" "$MAILLOG"
check "dovecot.log: mail_log save for bob" \
    grep -q "lmtp(bob)<.*: Info: save: box=INBOX, uid=1, msgid=$M1" "$DOVECOT_LOG"

# IMAP download by carol: \Seen, flag_change and mail_opened imap:fetch_body.
check "carol reads it over IMAP" grep -q "^Subject: lab selftest 1" <(imap_read carol 1)
check "carol's copy is \\Seen" grep -q 'Seen' <(doveadm_fetch carol flags mailbox INBOX uid 1)
check "event mail_opened imap:fetch_body (carol)" wait_log "$DOVECOT_LOG" \
    '"event":"mail_opened".*"user":"carol".*"local_port":'"$IMAP_PORT"'.*"imap:fetch_body"'
check "event auth_client_request_finished (carol)" wait_log "$DOVECOT_LOG" \
    '"event":"auth_client_request_finished".*"user":"carol"'
check "mail_log flag_change (carol)" wait_log "$DOVECOT_LOG" \
    "imap\(carol\)<.*><rip=127.0.0.1><lip=127.0.0.1><auth=carol>: Info: flag_change: box=INBOX, uid=1, msgid=$M1"

# Webmail listener and POP3.
check "bob reads it over the webmail port" grep -q "lab selftest 1" <(imap_read bob 1 --port "$WEBMAIL_PORT")
check "event mail_opened on the webmail port" wait_log "$DOVECOT_LOG" \
    '"event":"mail_opened".*"user":"bob".*"local_port":'"$WEBMAIL_PORT"
send_mail bob@example.test dave@example.test --auth bob --subject "lab selftest pop" --quiet
check "dave has mail" wait_delivered dave 1
check "dave reads it over POP3 from 127.0.0.2" grep -q "lab selftest pop" <(pop3_read dave 1 --from-ip 127.0.0.2)
# (The order of the JSON fields differs between services.)
check "event mail_opened pop3:cmd_retr" wait_log "$DOVECOT_LOG" \
    '"event":"mail_opened".*("user":"dave".*"pop3:cmd_retr"|"pop3:cmd_retr".*"user":"dave")'
check "login line from 127.0.0.2" wait_log "$DOVECOT_LOG" \
    'pop3-login: Info: Login: user=<dave>.*rip=127.0.0.2'

# doveadm HTTP API.
R=$(doveadm_api '[["fetch",{"user":"carol","field":["mailbox","uid","flags","hdr.message-id"],"query":["mailbox","*","header","Message-ID","'"$M1"'"]},"f1"]]')
check "doveadm API fetch by header" grep -qF '"hdr.message-id":"'"$M1"'"' <<< "$R"
R=$(doveadm_api '[["fetch",{"user":"bob","field":["uid","hdr.x-recall-id"],"query":["mailbox","*","header","X-Recall-ID","nosuchtoken"]},"f2"]]')
check "doveadm API X-Recall-ID query answers" grep -qF '[["doveadmResponse",[],"f2"]]' <<< "$R"
R=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: X-Dovecot-API $(printf wrong | base64)" \
    --data-binary '[]' "$DOVEADM_URL")
check "doveadm API refuses a wrong key" test "$R" = 401
doveadm_api '[["expunge",{"user":"dave","query":["mailbox","INBOX","all"]},"e1"]]' > /dev/null
check "event mail_expunged (doveadm API)" wait_log "$DOVECOT_LOG" \
    '"event":"mail_expunged".*"user":"dave"'
check "mail_log expunge (doveadm API)" wait_log "$DOVECOT_LOG" \
    'doveadm\(dave\)<.*: Info: expunge: box=INBOX, uid=1'

# From outside (127.0.0.5): forward, list, postmaster alias, a 4xx domain.
if send_mail s@outside.test fwd@example.test all-staff@example.test \
    postmaster@example.test u@defer.test --from-ip 127.0.0.5 --subject "lab selftest outside"; then
	ok "send outside mail from 127.0.0.5"
else
	not_ok "send outside mail from 127.0.0.5"
fi
Q2=$QID
check "maillog: client is 127.0.0.5" grep -q "$Q2: client=unknown\[127.0.0.5\]" "$MAILLOG"
check "fwd@ relayed to outside@ext.test" wait_log "$MAILLOG" \
    "$Q2: to=<outside@ext.test>, orig_to=<fwd@example.test>, .*status=sent"
check "all-staff@ relayed to list@lists.example.test" wait_log "$MAILLOG" \
    "$Q2: to=<list@lists.example.test>, orig_to=<all-staff@example.test>, .*status=sent"
check "postmaster@ delivered to alice" wait_log "$MAILLOG" \
    "$Q2: to=<alice@example.test>, orig_to=<postmaster@example.test>, .*status=sent"
check "u@defer.test deferred" wait_log "$MAILLOG" \
    "$Q2: to=<u@defer.test>, relay=127.0.0.1\[127.0.0.1\]:$DEFER_PORT, .*status=deferred"
postsuper -c "$POSTFIX_CONF" -d ALL deferred > /dev/null 2>&1

# Local submission through the wrapper recalld uses.
printf 'Subject: lab selftest sendmail\n\nhi\n' | "$LAB/bin/sendmail" -f bob@example.test erin@example.test
check "sendmail wrapper delivers" wait_delivered erin 1
check "maillog: pickup line" grep -q 'postfix/pickup\[[0-9]*\]: [0-9A-F]*: uid=0 from=<bob@example.test>' "$MAILLOG"

if [ "$LAB_MILTER" = 1 ]; then
	check "no milter errors in maillog" bash -c "! grep -E 'milter-reject|connect to Milter service' '$MAILLOG'"
fi

# down stops everything, twice.
CLAIM=$(cat "$LAB/run/port-claim")
"$LAB_SH" down "$LAB" > /dev/null
check "nothing of the lab runs after down" test -z "$(find /proc -mindepth 2 -maxdepth 2 -name cwd -printf '%l\n' 2>/dev/null | grep -F "$LAB")"
check "down is safe twice" "$LAB_SH" down "$LAB"
check "port claim released" test ! -e "$CLAIM"

done_testing

#!/bin/bash
# t_recall_by_mail.sh - recall by mail through the real Postfix, milter,
# PostgreSQL and recalld: an authenticated sender mails the recall address
# with "Recall: <message-id>"; the request mail is not delivered, bob's copy
# goes, alice gets the report; carol cannot recall alice's mail that way;
# outside and unauthenticated senders are refused with 550.
. "$(dirname "$0")/lib.sh"
lab_start

recorded() { [ "$(psql_lab "select count(*) from messages where message_id = '$1'")" = 1 ]; }
req_state() { psql_lab "select state from mail_request where ref = '$1' order by id desc limit 1"; }
count_is() { [ "$(mail_count "$1")" = "$2" ]; }	# USER N
req_done() { case "$(req_state "$1")" in done|failed) return 0 ;; esac; return 1; }

# 1. alice -> bob, then alice asks for the recall by mail.
send_mail alice@example.test bob@example.test --auth alice \
    --subject "rbm: first" || not_ok "t1: submit"
m1=$MSGID
wait_queue_empty 20
wait_delivered bob 1
wait_for 10 recorded "$m1"
check "t1: bob has the message" test "$(mail_count bob)" = 1

send_mail alice@example.test recall@example.test --auth alice \
    --subject "Recall: $m1"
rc=$?
check "t1: request accepted with 250" test "$rc" = 0
rq=$QID
check "t1: milter logged the queued request" \
    wait_log "$LAB/log/recall-milter.log" "$rq: recall request from alice@example.test: $m1 queued" 10
check "t1: request discarded by Postfix (milter-discard)" \
    wait_log "$MAILLOG" "$rq: milter-discard" 10
wait_for 30 req_done "$m1"
check "t1: mail_request done" test "$(req_state "$m1")" = done
check "t1: recall_request recorded via mail, as alice" \
    test "$(psql_lab "select r.via || ' ' || r.requested_by from recall_request r join mail_request q on q.request_id = r.id where q.ref = '$m1'")" = "mail alice@example.test"
check "t1: bob's copy is gone" wait_for 10 count_is bob 0
check "t1: the request mail is not in the recall mailbox" \
    test "$(mail_count recall)" = 0
check "t1: a report arrives in alice's mailbox" wait_delivered alice 1 30
check "t1: the report names the message" \
    test -n "$(doveadm -c "$DOVECOT_CONF" search -u alice mailbox INBOX text "${m1#<}" 2>/dev/null)"

# 2. Attached original (message/rfc822) as the request.
send_mail alice@example.test bob@example.test --auth alice \
    --subject "rbm: second" || not_ok "t2: submit"
m2=$MSGID
wait_queue_empty 20
wait_delivered bob 1
wait_for 10 recorded "$m2"
att=$LAB/req-att.eml
{
	printf 'From: alice@example.test\r\nTo: recall@example.test\r\n'
	printf 'Subject: Fwd: oops\r\nMIME-Version: 1.0\r\n'
	printf 'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n'
	printf -- '--zz\r\nContent-Type: text/plain\r\n\r\nplease recall\r\n'
	printf -- '--zz\r\nContent-Type: message/rfc822\r\n\r\n'
	printf 'From: alice@example.test\r\nTo: bob@example.test\r\n'
	printf 'Message-ID: %s\r\nSubject: rbm: second\r\n\r\nhello\r\n--zz--\r\n' "$m2"
} > "$att"
send_mail alice@example.test recall@example.test --auth alice --data "$att"
check "t2: attached-original request accepted" test $? = 0
wait_for 30 req_done "$m2"
check "t2: mail_request by attachment done" test "$(req_state "$m2")" = done
check "t2: bob's second copy is gone" wait_for 10 count_is bob 0

# 3. carol (authenticated) asks for alice's message: refused, nothing removed.
send_mail alice@example.test bob@example.test --auth alice \
    --subject "rbm: third" || not_ok "t3: submit"
m3=$MSGID
wait_queue_empty 20
wait_delivered bob 1
wait_for 10 recorded "$m3"
send_mail carol@example.test recall@example.test --auth carol \
    --subject "Recall: $m3"
check "t3: carol's request accepted by SMTP" test $? = 0
wait_for 30 req_done "$m3"
check "t3: carol's request failed (refused)" test "$(req_state "$m3")" = failed
check "t3: bob still has the message" test "$(mail_count bob)" = 1
check "t3: the refusal is audited" \
    test "$(psql_lab "select count(*) from audit_log where action = 'refusal' and actor = 'carol@example.test'")" -ge 1
check "t3: carol is told by mail" wait_delivered carol 1 30

# 4. Outside and unauthenticated senders: 550 5.7.1 (at the end of DATA:
# RCPT needs no milter reply).
send_mail eve@ext.test recall@example.test --from-ip 127.0.0.5 \
    --subject "Recall: $m3" --quiet
check "t4: outside sender refused with 550 5.7.1" \
    eval 'case "$SMTP_REPLY" in "550 5.7.1 recall requests must be sent by an authenticated local user"*) true ;; *) false ;; esac'
send_mail alice@example.test recall@example.test \
    --subject "Recall: $m3" --quiet
check "t4: unauthenticated inside-network sender refused with 550" \
    eval 'case "$SMTP_REPLY" in 550*) true ;; *) false ;; esac'
reqs=$(psql_lab "select count(*) from mail_request")
erin_before=$(mail_count erin)
send_mail eve@ext.test recall@example.test erin@example.test \
    --from-ip 127.0.0.5 --subject "Recall: $m3" --quiet
check "t4: outside sender to the recall address and erin: accepted" \
    test -n "$QID"
check "t4: ... erin gets it" wait_delivered erin $((erin_before + 1)) 20
check "t4: ... the recall mailbox gets nothing" count_is recall 0
check "t4: ... and no request is made" \
    test "$(psql_lab "select count(*) from mail_request")" = "$reqs"

# 5. No Message-ID: 550 5.6.0.
send_mail alice@example.test recall@example.test --auth alice \
    --subject "please undo my last mail" --quiet
check "t5: request without a Message-ID refused with 550 5.6.0" \
    eval 'case "$SMTP_REPLY" in "550 5.6.0"*) true ;; *) false ;; esac'

# 6. Also to someone else: only the recall address is removed.
send_mail alice@example.test recall@example.test dave@example.test \
    --auth alice --subject "Recall: $m3"
check "t6: mixed request accepted" test $? = 0
wait_queue_empty 20
check "t6: dave got the mail" wait_delivered dave 1 20
check "t6: the recall mailbox still got nothing" test "$(mail_count recall)" = 0
check "t6: alice's own recall of the third message ran: bob's copy gone" \
    wait_for 30 count_is bob 0

done_testing

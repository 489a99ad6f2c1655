#!/bin/bash
# t_milter_tag.sh - recall-milter in a real Postfix: inside mail is tagged
# once and recorded once in PostgreSQL; outside mail loses forged tags;
# local submission is tagged; a re-entry is a route event, not a new tag.
. "$(dirname "$0")/lib.sh"
lab_start

tags_of() {	# USER SUBJECT: the X-Recall-ID values of that message
	doveadm_fetch "$1" 'hdr.x-recall-id' mailbox INBOX header subject "$2" |
	    tail -n +2
}
id_of() { printf '%s\n' "$1" | sed -n 's/^r1-\([0-9a-f]\{24\}\)-.*/\1/p'; }

# 1. Authenticated mail to a local and an external recipient.
send_mail alice@example.test bob@example.test carol@ext.test --auth alice \
    --subject "t1 inside" || not_ok "t1: submit"
q1=$QID
wait_queue_empty 20
wait_delivered bob 1
tag=$(tags_of bob "t1 inside")
check "t1: delivered copy has exactly one X-Recall-ID" \
    test "$(printf '%s\n' "$tag" | grep -c '^r1-')" = 1
id=$(id_of "$tag")
check "t1: external copy tagged with the same token" \
    grep -rqF "X-Recall-ID: $tag" "$SINK_DIR"
in_db() { [ "$(psql_lab "select count(*) from messages where recall_id = '$id'")" = 1 ]; }
wait_for 10 in_db
check "t1: recorded once, with queue id, sender, auth user" \
    test "$(psql_lab "select queue_id || ' ' || sender || ' ' || auth_user || ' ' || origin from messages where recall_id = '$id'")" = "$q1 alice@example.test alice auth"
check "t1: Message-ID recorded" \
    test "$(psql_lab "select message_id from messages where recall_id = '$id'")" = "$MSGID"
check "t1: both recipients recorded with their class" \
    test "$(psql_lab "select string_agg(recipient || ':' || class, ',' order by recipient) from recipients where recall_id = '$id'")" = "bob@example.test:local,carol@ext.test:external"

# 2. Outside mail with forged tags (odd case) arrives without them.
send_mail eve@ext.test bob@example.test --from-ip 127.0.0.5 \
    --header "X-Recall-ID: $tag" --header "x-RECALL-id: forged" \
    --subject "t2 outside" || not_ok "t2: submit"
q2=$QID
wait_queue_empty 20
wait_delivered bob 2
check "t2: outside copy carries no X-Recall-ID" \
    test -z "$(tags_of bob "t2 outside")"
check "t2: each removal logged with the queue id" \
    test "$(grep -c "$q2: removed header X-Recall-ID" "$LAB/log/recall-milter.log")" = 2
check "t2: outside mail not recorded" \
    test "$(psql_lab "select count(*) from messages where queue_id = '$q2'")" = 0

# 3. Local submission (sendmail) is tagged.
printf 'Subject: t3 local\n\nhello\n' | sendmail_lab -f alice@example.test bob@example.test
wait_queue_empty 20
wait_delivered bob 3
check "t3: local submission tagged" \
    test "$(tags_of bob "t3 local" | grep -c '^r1-')" = 1

# 4. Re-entry: the tagged message comes back from inside.
send_mail bob@example.test carol@example.test --auth bob \
    --header "X-Recall-ID: $tag" --subject "t4 reentry" || not_ok "t4: submit"
q4=$QID
wait_queue_empty 20
wait_delivered carol 1
check "t4: re-entered copy keeps the original tag, not tagged again" \
    test "$(tags_of carol "t4 reentry")" = "$tag"
event_in_db() { [ "$(psql_lab "select count(*) from route_event where event = 'reentry' and queue_id = '$q4'")" = 1 ]; }
wait_for 10 event_in_db
check "t4: re-entry recorded as a route event of the original" \
    test "$(psql_lab "select recall_id || ' ' || recipient from route_event where event = 'reentry' and queue_id = '$q4'")" = "$id carol@example.test"
check "t4: no new message row for the re-entry" \
    test "$(psql_lab "select count(*) from messages where queue_id = '$q4'")" = 0

done_testing

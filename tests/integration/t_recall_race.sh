#!/bin/bash
# t_recall_race.sh - a download in the race window, made deterministic
# (issue #4): recalld has decided to remove the copies and kept them in
# quarantine; before Dovecot gets the expunge, clients download three of
# them.  doveadm_gate.py, a relay in front of the doveadm API, runs the
# downloads when the first expunge passes through it.
#
#   bob    IMAP BODY.PEEK[] from a desktop (127.0.0.2): the copy stays
#          unseen, so the "unseen" expunge still takes it -> left-imap,
#          "downloaded just before the recall", kept in quarantine
#   carol  IMAP BODY[] from a desktop: \Seen, the expunge leaves it ->
#          left-imap (a download outranks a read), the copy stays
#   dave   POP3 RETR from 127.0.0.2: \Seen, the copy stays -> left-pop3
#   erin   nobody reads it -> recalled
#
# Then a copy moved to another folder in the window: pending (never
# "recalled"), and the next recall takes it from there.
#
# Never "recalled" for a copy that left; never a copy removed without its
# quarantine row.
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_race_out
ERR=$LAB/log/t_race_err
gate_start

send_mail alice@example.test \
    "bob@example.test,carol@example.test,dave@example.test,erin@example.test" \
    --auth alice --subject "race window" --quiet || not_ok "submit"
M=$MSGID
wait_queue_empty 20 > /dev/null
for u in bob carol dave erin; do
	wait_delivered "$u" 1
done
# quarantined COND: this message's quarantine rows that meet COND.
quarantined() {
	psql_lab "select count(*) from quarantine q
	    join recall_request r on r.id = q.request_id
	    join messages m on m.recall_id = r.recall_id
	    where m.message_id = '$M' and ($1)"
}
U=$(doveadm_fetch bob uid mailbox INBOX header Message-ID "$M" | sed -n 2p)

# The downloads the gate runs just before the first expunge.
CURL=$(command -v curl)
{
	printf '%s --interface 127.0.0.2 -sS --user bob:bobpw imap://127.0.0.1:%s/INBOX -X "UID FETCH %s BODY.PEEK[]"\n' \
	    "$CURL" "$IMAP_PORT" "$U"
	printf '%s --interface 127.0.0.2 -sS --user carol:carolpw imap://127.0.0.1:%s/INBOX;UID=1\n' \
	    "$CURL" "$IMAP_PORT"
	printf '%s --interface 127.0.0.2 -sS --user dave:davepw pop3://127.0.0.1:%s/1\n' \
	    "$CURL" "$POP3_PORT"
} > "$GATE/hook.new"
mv "$GATE/hook.new" "$GATE/hook"

ctl --json recall "$M"
check "recall exits 1: partial (three copies left)" test "$RC" = 1
check "the answer says partial" test "$(jq -r .status "$OUT")" = partial
diag "$(cat "$GATE/log")"
check "the gate ran the three downloads before the first expunge" \
    eval "grep -v '^pass find\|^pass fetch\|^pass search' '$GATE/log' | head -4 | tr '\n' ' ' | grep -q '^hook 0 curl hook 0 curl hook 0 curl pass .*expunge'"
check "the hook was used up" test ! -e "$GATE/hook"

check "bob (BODY.PEEK[] in the window): left-imap" \
    test "$(outcome_of bob@example.test)" = left-imap
check "bob: the reason says downloaded just before the recall" \
    eval "reason_of bob@example.test | grep -q 'downloaded just before the recall'"
check "bob: the reason names the desktop address" \
    eval "reason_of bob@example.test | grep -q '127.0.0.2'"
check "bob: the unseen copy was taken by the expunge (doveadm)" \
    test "$(mail_count bob)" = 0
check "bob: his copy is kept in quarantine" \
    test "$(quarantined "q.store_user = 'bob' and q.purged_at is null and length(q.message) > 0")" = 1

check "carol (BODY[] in the window): left-imap, not read" \
    test "$(outcome_of carol@example.test)" = left-imap
check "carol: the reason names IMAP from the desktop address" \
    eval "reason_of carol@example.test | grep -q 'IMAP from 127.0.0.2'"
check "carol: her copy stays" test "$(mail_count carol)" = 1

check "dave (POP3 RETR in the window): left-pop3" \
    test "$(outcome_of dave@example.test)" = left-pop3
check "dave: the reason names POP3 from the desktop address" \
    eval "reason_of dave@example.test | grep -q 'POP3 from 127.0.0.2'"
check "dave: his copy stays" test "$(mail_count dave)" = 1

check "erin (nobody read it): recalled" \
    test "$(outcome_of erin@example.test)" = recalled
check "erin: her copy is gone" test "$(mail_count erin)" = 0

check "no copy that left is reported recalled" \
    test "$(jq '[.copies[] | select(.outcome == "recalled")] | length' "$OUT")" = 1
check "the quarantine keeps exactly the two removed copies" \
    test "$(quarantined "q.purged_at is null")" = 2
check "carol's and dave's quarantine rows are voided" \
    test "$(quarantined "q.purged_at is not null and q.store_user in ('carol', 'dave')")" = 2
check "carol: the reason says her copy stays" \
    eval "reason_of carol@example.test | grep -q 'downloaded just before the recall (the copy stays in INBOX)'"

# ---- a copy moved to another folder in the window ------------------------------
# bob's client moves his copy to Archive after recalld decided and before
# the expunge: the expunge takes nothing, the log shows no expunge of
# ours, the copy is gone from INBOX, yet not removed.  Never "recalled";
# pending, and the next recall takes it from Archive.
dove mailbox create -u bob Archive
send_mail alice@example.test bob@example.test --auth alice \
    --subject "race move" --quiet || not_ok "move: submit"
M2=$MSGID
wait_queue_empty 20 > /dev/null
wait_delivered bob 1
U2=$(doveadm_fetch bob uid mailbox INBOX header Message-ID "$M2" | sed -n 2p)
printf '%s -sS --user bob:bobpw imap://127.0.0.1:%s/INBOX -X "UID MOVE %s Archive"\n' \
    "$CURL" "$IMAP_PORT" "$U2" > "$GATE/hook.new"
mv "$GATE/hook.new" "$GATE/hook"
ctl --json recall "$M2"
check "move: the hook moved the copy, then the expunge went on" \
    test "$(grep -c '^hook 0 curl' "$GATE/log"):$(grep -A1 '^hook' "$GATE/log" | tail -n 1)" = "4:pass expunge"
check "move: pending, not recalled" test "$(outcome_of bob@example.test)" = pending
check "move: the reason says where it went" \
    eval "reason_of bob@example.test | grep -q 'moved to Archive during the recall'"
check "move: the copy is in Archive, untouched" \
    test "$(mail_count bob mailbox Archive header Message-ID "$M2")" = 1
M=$M2
check "move: its quarantine row is voided" \
    test "$(quarantined "q.purged_at is null")" = 0
ctl --json recall "$M2"
check "move: the next recall takes it from Archive" \
    test "$(outcome_of bob@example.test)" = recalled
check "move: ... and names Archive" \
    eval "reason_of bob@example.test | grep -q 'Archive'"
check "move: Archive is empty" \
    test "$(mail_count bob mailbox Archive all)" = 0

done_testing

#!/bin/bash
# t_quarantine.sh - what happens after a recall: the report mail (RFC 6522
# multipart/report with RFC 3464 fields) lands in the sender's mailbox and
# says what "recallctl status" says; "recallctl restore" puts the copy back
# (same mailbox, its flags, its X-Recall-ID), refuses a second restore and
# non-admins; the restored copy can be recalled again; expired quarantine
# is purged (by "recallctl purge" and at recalld's start), audited.
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_q_out
ERR=$LAB/log/t_q_err
CTL=${LAB_BIN_DIR:-$REPO/build/bin}/recallctl
# report_text: the newest report in alice's INBOX, whole.
report_text() {
	local uid
	uid=$(doveadm_fetch alice uid mailbox INBOX header Subject 'Recall report' | tail -n 1)
	dove fetch -u alice text mailbox INBOX uid "$uid" | sed '1{/^text:$/d}'
}

# ---- 1. a recall; bob's copy flagged first; the report mail -------------------

send_mail alice@example.test bob@example.test carol@example.test x@ext.test \
    --auth alice --subject "Quarterly résumé; \"draft\"" || not_ok "1: submit"
M1=$MSGID
wait_queue_empty 20
wait_delivered bob 1
wait_delivered carol 1
dove flags add -u bob '\Flagged' mailbox INBOX all
dove flags add -u carol '\Seen' mailbox INBOX all
TOK=$(doveadm_fetch bob 'hdr.x-recall-id' mailbox INBOX all | grep '^r1-')
ctl --json recall "$M1"
REQ=$(jq -r .request "$OUT")
check "1: partial: bob recalled, carol read, x left" \
    test "$(jq -r '[.copies[] | .outcome] | join(" ")' "$OUT")" = "recalled read left-external"
cp "$OUT" "$LAB/log/recall.json"
check "1: the report reaches alice" wait_delivered alice 1 30
R=$LAB/log/report.eml
report_text > "$R"
check "1: Subject is 'Recall report:' with the subject RFC 2047 encoded" \
    grep -q '^Subject: Recall report: =?UTF-8?B?' "$R"
check "1: the encoded subject decodes to the original" \
    test "$(python3 -c 'import email,sys,email.header; m=email.message_from_binary_file(open(sys.argv[1],"rb")); print(str(email.header.make_header(email.header.decode_header(m["Subject"]))))' "$R")" = 'Recall report: Quarterly résumé; "draft"'
check "1: multipart/report; report-type=delivery-status" \
    grep -q '^Content-Type: multipart/report; report-type=delivery-status;' "$R"
check "1: parts text/plain, message/delivery-status, text/rfc822-headers" \
    test "$(python3 -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); print(" ".join(p.get_content_type() for p in m.get_payload()))' "$R")" = "text/plain message/delivery-status text/rfc822-headers"
check "1: Reporting-MTA and Arrival-Date" \
    eval "grep -q '^Reporting-MTA: dns; ' '$R' && grep -q '^Arrival-Date: ' '$R'"
for rc in bob@example.test:delivered:2.0.0:recalled carol@example.test:failed:5.0.0:read x@ext.test:failed:5.0.0:left-external; do
	IFS=: read -r who act st oc <<< "$rc"
	check "1: DSN block for $who: Action $act, Status $st, outcome $oc" \
	    python3 - "$R" "$who" "$act" "$st" "$oc" <<'PY'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
ds = [p for p in m.walk() if p.get_content_type() == "message/delivery-status"][0]
blocks = ds.get_payload()
want = dict(zip(["who", "act", "st", "oc"], sys.argv[2:]))
for b in blocks[1:]:
    if b["Final-Recipient"] == "rfc822;" + want["who"]:
        ok = (b["Original-Recipient"] == "rfc822;" + want["who"] and b["Action"] == want["act"]
              and b["Status"] == want["st"] and b["X-Recall-Outcome"] == want["oc"]
              and b["X-Recall-Reason"])
        sys.exit(0 if ok else 1)
sys.exit(1)
PY
done
check "1: the readable table has the same rows as recallctl status" \
    python3 - "$R" "$LAB/log/recall.json" <<'PY'
import email, json, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
text = [p for p in m.walk() if p.get_content_type() == "text/plain"][0].get_payload(decode=True).decode()
rep = json.load(open(sys.argv[2]))
for c in rep["copies"]:
    if not any(l.split()[:2] == [c["recipient"], c["outcome"]] and c["reason"] in l for l in text.splitlines()):
        sys.exit(1)
PY
ctl --json status "$M1"
check "1: recallctl status shows the same outcomes" \
    test "$(jq -c '[.copies[] | [.recipient, .outcome, .reason]]' "$OUT")" = "$(jq -c '[.copies[] | [.recipient, .outcome, .reason]]' "$LAB/log/recall.json")"
check "1: the original header is attached (Message-ID)" \
    grep -qi "^Message-Id: $M1" "$R"
check "1: the report mail is audited" \
    test "$(psql_lab "select detail::jsonb->>'to' || ' ' || (detail::jsonb->>'sent') from audit_log where action = 'report' and request_id = $REQ")" = "alice@example.test true"
ctl recall "$M1" --dry-run
check "1: a dry run mails no report" \
    test "$(psql_lab "select count(*) from audit_log where action = 'report'")" = 1

# ---- 2. restore -----------------------------------------------------------------------

runuser -u nobody -- "$CTL" -c "$RECALL_CONF" restore "$REQ" > "$OUT" 2> "$ERR"
check "2: restore is for admins (exit 2)" test $? = 2
check "2: ... and says so" grep -q 'recalld.admins only' "$ERR"
check "2: bob's INBOX is empty before" test "$(mail_count bob)" = 0
ctl restore "$REQ" --recipient bob@example.test
check "2: restore exits 0" test "$RC" = 0
check "2: says where" grep -q '^bob@example.test: restored into INBOX' "$OUT"
check "2: bob's copy is back in INBOX with its X-Recall-ID" \
    test "$(doveadm_fetch bob 'hdr.x-recall-id' mailbox INBOX all | grep -c "^$TOK\$")" = 1
check "2: ... with its flag (\\Flagged) and unread" \
    eval "doveadm_fetch bob flags mailbox INBOX all | tail -n 1 | grep -q Flagged && ! doveadm_fetch bob flags mailbox INBOX all | grep -q Seen"
check "2: ... and its subject" \
    test "$(mail_count bob mailbox INBOX subject 'Quarterly')" = 1
check "2: restored_at is set" \
    test "$(psql_lab "select count(*) from quarantine where request_id = $REQ and restored_at is not null")" = 1
check "2: the restore is audited" \
    test "$(psql_lab "select actor || ' ' || (detail::jsonb->>'recipient') || ' ' || (detail::jsonb->>'mailbox') from audit_log where action = 'restore'")" = "root bob@example.test INBOX"
ctl restore "$REQ"
check "2: a second restore is refused (exit 2)" test "$RC" = 2
check "2: ... as already restored" grep -q 'already restored' "$ERR"
check "2: still one copy in bob's INBOX" test "$(mail_count bob)" = 1
ctl restore 999999
check "2: an unknown request: exit 2, not found" \
    eval "test $RC = 2 && grep -q 'no recall request 999999' '$ERR'"
ctl restore '<x@y>'
check "2: restore needs a request id" test "$RC" = 2

# ---- 3. the restored copy can be recalled again ---------------------------------------

ctl --json recall "$M1"
check "3: a second recall works again: bob recalled" \
    test "$(jq -r '.copies[] | select(.recipient == "bob@example.test") | .outcome' "$OUT")" = recalled
check "3: bob's copy is gone again (doveadm)" test "$(mail_count bob)" = 0
REQ2=$(jq -r .request "$OUT")
check "3: a new quarantine row for the new request" \
    test "$(psql_lab "select count(*) from quarantine where request_id = $REQ2 and restored_at is null and purged_at is null")" = 1

# ---- 3b. restored, then deleted by the recipient: not-found, not "already recalled"

ctl restore "$REQ2" --recipient bob@example.test
check "3b: restored again" test "$RC" = 0
doveadm -c "$DOVECOT_CONF" expunge -u bob mailbox INBOX all
check "3b: bob deleted it himself" test "$(mail_count bob)" = 0
ctl --json recall "$M1"
check "3b: a recall now says not-found" \
    test "$(jq -r '.copies[] | select(.recipient == "bob@example.test") | .outcome' "$OUT")" = not-found

# ---- 4. purge ----------------------------------------------------------------------------

psql_lab "update quarantine set expires_at = now() - interval '1 minute' where request_id = $REQ" > /dev/null
runuser -u nobody -- "$CTL" -c "$RECALL_CONF" purge > "$OUT" 2> "$ERR"
check "4: purge is for admins (exit 2)" test $? = 2
ctl purge
check "4: recallctl purge purges the expired row" \
    eval "test $RC = 0 && grep -qx 'purged 1 expired quarantine copy' '$OUT'"
check "4: its bytes are gone and purged_at set" \
    test "$(psql_lab "select length(message) || ' ' || (purged_at is not null) from quarantine where request_id = $REQ")" = "0 true"
check "4: the unexpired row is untouched" \
    test "$(psql_lab "select count(*) from quarantine where request_id = $REQ2 and purged_at is null and length(message) > 0")" = 1
check "4: the purge is audited" \
    test "$(psql_lab "select count(*) from audit_log where action = 'purge' and request_id = $REQ and actor = 'root'")" = 1
check "4: (the second request was restored in 3b)" \
    test "$(psql_lab "select count(*) from quarantine where request_id = $REQ2 and restored_at is not null")" = 1
psql_lab "update quarantine set expires_at = now() - interval '1 minute' where request_id = $REQ2" > /dev/null
lab_restart recalld > /dev/null
check "4: recalld purges expired rows at start" \
    wait_output 10 1 psql_lab "select count(*) from quarantine where request_id = $REQ2 and purged_at is not null"
check "4: ... audited as recalld" \
    test "$(psql_lab "select count(*) from audit_log where action = 'purge' and request_id = $REQ2 and actor = 'recalld'")" = 1
ctl restore "$REQ"
check "4: a purged copy cannot be restored (exit 2)" test "$RC" = 2
ctl audit verify
check "4: the audit chain is intact after all this" test "$RC" = 0

done_testing

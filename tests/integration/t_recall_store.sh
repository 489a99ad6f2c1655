#!/bin/bash
# t_recall_store.sh - recalld against the mail store's corner cases: copies
# in other folders, a copy with an older received date (the find looks at
# recent mail first), look-alike tags (Dovecot's substring header search), tag
# key rotation, an unreachable or misconfigured doveadm API, and reloading
# the configuration with SIGHUP.
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_recall_out
ERR=$LAB/log/t_recall_err

# set_conf KEY VALUE: replace "KEY = ...;" in recall.conf.
set_conf() {
	sed -i "s|^\(  $1 = \).*;|\1$2;|" "$RECALL_CONF"
}

# deliver USER SUBJECT HEADER: put a message straight into USER's INBOX,
# bypassing the MTA (so the milter cannot strip a look-alike tag).
deliver() {
	printf 'From: eve@ext.test\nTo: %s@example.test\nSubject: %s\nMessage-ID: <%s@ext.test>\n%s\n\nlook-alike\n' \
	    "$1" "$2" "$2" "$3" | dove save -u "$1" -m INBOX
}

# ---- 1. a copy moved to another folder, and a look-alike tag -------------------

send_mail alice@example.test bob@example.test --auth alice \
    --subject "store 1" || not_ok "1: submit"
M1=$MSGID
wait_queue_empty 20
wait_delivered bob 1
TOK=$(doveadm_fetch bob 'hdr.x-recall-id' mailbox INBOX all | grep '^r1-')
dove mailbox create -u bob Archive
dove move -u bob Archive mailbox INBOX all
check "1: bob's copy is now in Archive" \
    test "$(mail_count bob mailbox Archive all)" = 1
deliver bob "lookalike1" "X-Recall-ID: x${TOK}y"
deliver bob "lookalike2" "X-Recall-ID: ${TOK}0"
check "1: Dovecot's header search matches all three (the pitfall)" \
    test "$(mail_count bob mailbox '*' header X-Recall-ID "$TOK")" = 3
ctl --json recall "$M1"
check "1: recall exits 0" test "$RC" = 0
check "1: bob recalled from Archive" \
    eval "reason_of bob@example.test | grep -q 'from Archive'"
check "1: the Archive copy is gone (doveadm)" \
    test "$(mail_count bob mailbox Archive all)" = 0
check "1: both look-alikes stay (exact token match)" \
    test "$(mail_count bob mailbox INBOX all)" = 2

# ---- 1b. a copy with an older received date ------------------------------------------
# The find looks at the mail received since the submission first; dave's
# copy says it arrived three days ago (its Maildir file's mtime, as a
# copy appended with an older date would), so for him recalld looks again
# over all his mail and still finds it.
send_mail alice@example.test "carol@example.test,dave@example.test" \
    --auth alice --subject "store 1b" || not_ok "1b: submit"
M1B=$MSGID
wait_queue_empty 20
wait_delivered carol 1
wait_delivered dave 1
f=$(grep -rlF -- "$M1B" "$LAB/mail/dave/Maildir/new" "$LAB/mail/dave/Maildir/cur" | head -n 1)
# LMTP linked one file into both mailboxes: give dave a file of his own.
cp -p "$f" "$f.own" && mv "$f.own" "$f"
touch -d '3 days ago' "$f"
TOK1B=$(doveadm_fetch dave 'hdr.x-recall-id' mailbox INBOX all | grep '^r1-')
check "1b: Dovecot's younger-than-a-day search misses dave's copy" \
    test "$(mail_count dave mailbox '*' younger 86400 header X-Recall-ID "$TOK1B")" = 0
# (recalld asks for the first copy alone, then for the others.)
n=$(grep -c 'have no copy received since the submission' "$LAB/log/recalld.log")
ctl --json recall "$M1B"
check "1b: recall exits 0" test "$RC" = 0
check "1b: carol recalled" test "$(outcome_of carol@example.test)" = recalled
check "1b: dave's older copy recalled too" \
    test "$(outcome_of dave@example.test)" = recalled
check "1b: only dave was looked at again over all his mail" \
    test "$(grep -c ': 1 of 1 users have no copy received since the submission' "$LAB/log/recalld.log")" = $((n + 1))
check "1b: both copies are gone (doveadm)" \
    test "$(mail_count carol mailbox '*' subject 'store 1b')$(mail_count dave mailbox '*' subject 'store 1b')" = 00

# ---- 2. tag key rotation -------------------------------------------------------------

send_mail alice@example.test carol@example.test --auth alice \
    --subject "store 2" || not_ok "2: submit"
M2=$MSGID
wait_queue_empty 20
wait_delivered carol 1
{ od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; echo; cat "$TAG_KEY_FILE"; } \
    > "$TAG_KEY_FILE.new"
chmod 600 "$TAG_KEY_FILE.new"
mv "$TAG_KEY_FILE.new" "$TAG_KEY_FILE"
recalld_hup
check "2: SIGHUP reloads" grep -q 'configuration reloaded' "$LAB/log/recalld.log"
ctl --json recall "$M2"
check "2: a copy tagged under the older key is still recalled" \
    test "$RC" = 0 -a "$(outcome_of carol@example.test)" = recalled
check "2: carol's copy is gone (doveadm)" test "$(mail_count carol)" = 0

# ---- 3. the doveadm API unreachable: pending, nothing removed; then recalled ---------

send_mail alice@example.test dave@example.test --auth alice \
    --subject "store 3" || not_ok "3: submit"
M3=$MSGID
wait_queue_empty 20
wait_delivered dave 1
URL=$DOVEADM_URL
set_conf doveadm_url '"http://127.0.0.1:9/doveadm/v1"'
recalld_hup
ctl --json recall "$M3"
check "3: store unreachable exits 2 (failed)" test "$RC" = 2
check "3: dave pending" test "$(outcome_of dave@example.test)" = pending
check "3: the reason names the store" \
    eval "reason_of dave@example.test | grep -q 'mail store is unreachable'"
check "3: dave's copy stays" test "$(mail_count dave)" = 1
set_conf doveadm_url "\"$URL\""
recalld_hup
ctl --json recall "$M3"
check "3: once reachable again, recalled (exit 0)" \
    test "$RC" = 0 -a "$(outcome_of dave@example.test)" = recalled
check "3: dave's copy is gone (doveadm)" test "$(mail_count dave)" = 0

# ---- 4. a wrong API key; a key file others can read -----------------------------------

send_mail alice@example.test erin@example.test --auth alice \
    --subject "store 4" || not_ok "4: submit"
M4=$MSGID
wait_queue_empty 20
wait_delivered erin 1
cp -p "$DOVEADM_KEY_FILE" "$LAB/etc/doveadm.key.good"
printf 'wrongkey\n' > "$DOVEADM_KEY_FILE"
recalld_hup
ctl --json recall "$M4"
check "4: a refused key is pending, not a crash" \
    test "$(outcome_of erin@example.test)" = pending
check "4: the log says the key was refused" \
    grep -q 'refused our key' "$LAB/log/recalld.log"
check "4: erin's copy stays" test "$(mail_count erin)" = 1
cp -p "$LAB/etc/doveadm.key.good" "$DOVEADM_KEY_FILE"
chmod 644 "$DOVEADM_KEY_FILE"
recalld_hup
check "4: a readable key file fails the reload" \
    grep -q 'reload failed, keeping the running configuration' "$LAB/log/recalld.log"
check "4: recalld -n refuses it too" \
    eval "! '${LAB_BIN_DIR:-$REPO/build/bin}/recalld' -n -c '$RECALL_CONF' 2>/dev/null"
chmod 600 "$DOVEADM_KEY_FILE"
recalld_hup
ctl --json recall "$M4"
check "4: with the right key again, recalled" \
    test "$RC" = 0 -a "$(outcome_of erin@example.test)" = recalled
check "4: recalld -n accepts the lab's configuration" \
    "${LAB_BIN_DIR:-$REPO/build/bin}/recalld" -n -c "$RECALL_CONF"

# ---- 5. policy: opt_out and max_age (reloaded) ------------------------------------------

send_mail alice@example.test bob@example.test carol@example.test --auth alice \
    --subject "store 5" || not_ok "5: submit"
M5=$MSGID
wait_queue_empty 20
set_conf opt_out '[ "carol@example.test" ]'
recalld_hup
ctl --json recall "$M5" --dry-run
check "5: an opted-out recipient is opted-out" \
    test "$(outcome_of carol@example.test)" = opted-out
set_conf max_age 0
recalld_hup
sleep 1.1
ctl --json recall "$M5"
check "5: older than max_age is expired, exit 2" \
    test "$RC" = 2 -a "$(outcome_of bob@example.test)" = expired
check "5: nothing removed" test "$(mail_count carol mailbox INBOX subject 'store 5')" = 1

# ---- 6. the database unreachable: recallctl exits 69; recalld recovers ------------------

CONNINFO=$(sed -n 's/^database = { conninfo = "\(.*\)"; };$/\1/p' "$RECALL_CONF")
sed -i "s|^database = { conninfo = .*|database = { conninfo = \"host=$LAB/nonexistent dbname=recall\"; };|" "$RECALL_CONF"
recalld_hup
ctl recall "$M5" --dry-run
check "6: database down exits 69" test "$RC" = 69
check "6: and says why" grep -q 'database' "$ERR"
sed -i "s|^database = { conninfo = .*|database = { conninfo = \"$CONNINFO\"; };|" "$RECALL_CONF"
recalld_hup
ctl recall "$M5" --dry-run
check "6: back once the database is" test "$RC" = 2
check "6: recalld survived it all" \
    eval "read -r p _ < '$LAB/run/recalld.pid' && kill -0 \$p"

# ---- 7. policy end to end: recall_read, opt_out, max_age (real recalls) -----------

set_conf max_age 86400
set_conf opt_out '[ "carol@example.test" ]'
set_conf recall_read true
recalld_hup
send_mail alice@example.test bob@example.test carol@example.test --auth alice \
    --subject "store 7" || not_ok "7: submit"
M7=$MSGID
wait_queue_empty 20
wait_output 10 1 mail_count bob mailbox INBOX subject 'store 7'
wait_output 10 1 mail_count carol mailbox INBOX subject 'store 7'
dove flags add -u bob '\Seen' mailbox INBOX subject 'store 7'
ctl --json recall "$M7"
check "7: recall_read = true: bob's read copy is recalled" \
    test "$(outcome_of bob@example.test)" = recalled
check "7: ... and gone (doveadm)" \
    test "$(mail_count bob mailbox INBOX subject 'store 7')" = 0
check "7: the decision's audit row shows recall_read and the \\Seen copy" \
    test "$(psql_lab "select count(*) from audit_log where action = 'decision' and request_id = $(jq -r .request "$OUT") and detail::jsonb->>'recipient' = 'bob@example.test' and (detail::jsonb->'inputs'->>'recall_read')::boolean and detail::jsonb->'inputs'->'copies'->0->>'flags' like '%Seen%'")" = 1
check "7: opt_out: carol's copy is opted-out in a real recall" \
    test "$(outcome_of carol@example.test)" = opted-out
check "7: ... and stays (doveadm)" \
    test "$(mail_count carol mailbox INBOX subject 'store 7')" = 1
set_conf recall_read false
set_conf opt_out '[ ]'
recalld_hup
send_mail alice@example.test erin@example.test --auth alice \
    --subject "store 7b" || not_ok "7: submit b"
M7B=$MSGID
wait_queue_empty 20
wait_output 10 1 mail_count erin mailbox INBOX subject 'store 7b'
dove flags add -u erin '\Seen' mailbox INBOX subject 'store 7b'
ctl --json recall "$M7B"
check "7: recall_read = false: a read copy is read, exit 2" \
    test "$RC" = 2 -a "$(outcome_of erin@example.test)" = read
check "7: ... and stays (doveadm)" \
    test "$(mail_count erin mailbox INBOX subject 'store 7b')" = 1
set_conf max_age 1
recalld_hup
sleep 2.1
ctl --json recall "$M7B"
check "7: max_age: older than policy.max_age is expired" \
    test "$(outcome_of erin@example.test)" = expired
check "7: ... the reason names policy.max_age" \
    eval "reason_of erin@example.test | grep -q 'policy.max_age'"

done_testing

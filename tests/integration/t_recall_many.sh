#!/bin/bash
# t_recall_many.sh - a recall of one message to many local mailboxes, where
# recalld asks Dovecot with wildcard commands (user "u000*": one doveadm
# command for many users, recalld/store_batch.c).  The outcome must be the
# same as one command a copy: the read copy and the downloaded copy stay,
# every other copy is gone (checked through Dovecot) and kept in
# quarantine.  Then an account Dovecot cannot open lies under the pattern:
# the wildcard command fails, recalld asks those users one by one, and the
# recall still comes out right.  Last, without expunge lines in the Dovecot
# log, recalld looks at every copy again and the recall is still complete.
export LAB_EXTRA_USERS=60
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_recall_out
ERR=$LAB/log/t_recall_err
N=60
users() { seq -f 'u%05g' 1 "$N"; }
rcpts() { users | sed 's/$/@example.test/'; }
# left: how many of the N mailboxes still hold a message.
left() {
	local u c=0
	for u in $(users); do
		[ "$(mail_count "$u")" -gt 0 ] && c=$((c + 1))
	done
	echo "$c"
}
wildcard_lines() { grep -c 'wildcard commands' "$LAB/log/recalld.log"; }
# msg_file USER: the file of USER's one message; hex FILE: its bytes;
# kept_hex USER: USER's quarantine row, in hex.
msg_file() { ls "$LAB/mail/$1/Maildir/new/"* "$LAB/mail/$1/Maildir/cur/"* 2>/dev/null | head -n 1; }
hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
kept_hex() {
	psql_lab "select encode(message, 'hex') from quarantine where store_user = '$1' and purged_at is null"
}

# send SUBJECT: one message from alice to the N mailboxes (local
# submission), delivered to all; MSGID is its Message-ID.
send() {
	MSGID="<many.$(date +%s%N)@example.test>"
	printf 'From: alice@example.test\nSubject: %s\nMessage-ID: %s\n\nhello\n' \
	    "$1" "$MSGID" | sendmail_lab -f alice@example.test $(rcpts)
	wait_queue_empty 60
	wait_recorded "$MSGID" 10
	wait_output 30 "$N" left
}

# ---- 1. 60 copies, one read in webmail, one downloaded from a desktop --------
send "many 1"
check "1: every mailbox got its copy" test "$(left)" = "$N"
check "1: u00003 reads hers in webmail" \
    eval "imap_read u00003 1 --port $WEBMAIL_PORT | grep -q hello"
check "1: u00007 downloads his from a desktop (BODY.PEEK[])" \
    eval "curl -sS --interface 127.0.0.2 --user u00007:u00007pw \
        'imap://127.0.0.1:$IMAP_PORT/INBOX' -X 'UID FETCH 1 BODY.PEEK[]' \
        > /dev/null"
wait_log "$DOVECOT_LOG" '"event":"mail_opened".*u00007' 10
sleep 1.5	# recalld follows the logs every second
# The message files of two copies (LMTP linked one file into both).
file10=$(msg_file u00010)
file11=$(msg_file u00011)
hex10=$(hex "$file10")
hex11=$(hex "$file11")
check "1: u00010 and u00011 hold one file, linked (one LMTP delivery)" \
    test "$(stat -c %i "$file10")" = "$(stat -c %i "$file11")"
before=$(wildcard_lines)
ctl --json recall "$MSGID"
check "1: recall exits 1 (partial)" test "$RC" = 1
check "1: 58 recalled" \
    test "$(jq '[.copies[] | select(.outcome == "recalled")] | length' "$OUT")" = 58
check "1: u00003 read" test "$(outcome_of u00003@example.test)" = read
check "1: u00007 left-imap" test "$(outcome_of u00007@example.test)" = left-imap
check "1: recalld used wildcard commands" test "$(wildcard_lines)" -gt "$before"
check "1: the Dovecot log confirmed every removal (no look again)" \
    grep -q 'removals confirmed by the log' "$LAB/log/recalld.log"
check "1: ... all 58 of them" \
    grep -q ': 58 of 58 removals confirmed by the log' "$LAB/log/recalld.log"
check "1: Dovecot holds only the read and the downloaded copy" \
    test "$(left)" = 2
check "1: u00003 and u00007 keep theirs" \
    test "$(mail_count u00003)$(mail_count u00007)" = 11
check "1: 58 copies in quarantine" \
    test "$(psql_lab "select count(*) from quarantine where purged_at is null")" = 58
check "1: every removed copy kept by its own user" \
    test "$(psql_lab "select count(distinct store_user) from quarantine where purged_at is null")" = 58
# One text a shared file, not one a copy; each copy's quarantine row is
# still the exact bytes of its message file.
texts=$(sed -n 's/.*: \([0-9]*\) texts fetched for 58 copies.*/\1/p' "$LAB/log/recalld.log" | tail -n 1)
check "1: the texts were fetched once a shared file ($texts for 58 copies)" \
    test -n "$texts" -a "${texts:-58}" -lt 58
check "1: u00010's quarantine row is its file, byte for byte" \
    test "$(kept_hex u00010)" = "$hex10"
check "1: u00011's too" test "$(kept_hex u00011)" = "$hex11"
check "1: a second recall changes nothing" \
    eval "ctl --json recall '$MSGID'; test \"\$(left)\" = 2"

# ---- 2. an account Dovecot cannot open, under the pattern --------------------
# u00061 is listed by the userdb but its home is root's: any command that
# reaches it fails.  It is not a recipient.
for u in $(users); do
	dove expunge -u "$u" mailbox '*' all
done
echo "u00061:u00061pw::::/root/u00061-not-here::" >> "$LAB/etc/dovecot-users"
send "many 2"
sleep 1.5
ctl --json recall "$MSGID"
check "2: recall exits 0 (complete)" test "$RC" = 0
check "2: 60 recalled" \
    test "$(jq '[.copies[] | select(.outcome == "recalled")] | length' "$OUT")" = 60
check "2: the wildcard command failed on the broken account" \
    grep -q 'u00061.*Permission denied' "$DOVECOT_LOG"
check "2: recalld fell back to one command a copy" \
    grep -q 'users u000\* failed .*asking its [0-9]* users one by one' \
    "$LAB/log/recalld.log"
check "2: every copy is gone" test "$(left)" = 0

# ---- 3. no expunge lines in the Dovecot log: recalld looks again -------------
sed -i 's/^\(  mail_log_events = .*\) expunge /\1 /' "$DOVECOT_CONF"
check "3: mail_log no longer logs expunges" \
    eval "! grep -q 'mail_log_events = .* expunge ' '$DOVECOT_CONF'"
doveadm -c "$DOVECOT_CONF" reload
sleep 1
send "many 3"
sleep 1.5
ctl --json recall "$MSGID"
check "3: recall exits 0 (complete)" test "$RC" = 0
check "3: 60 recalled" \
    test "$(jq '[.copies[] | select(.outcome == "recalled")] | length' "$OUT")" = 60
check "3: recalld looked again at what the log did not show" \
    grep -q ': 60 of 60 removals not in the Dovecot log: looking again' \
    "$LAB/log/recalld.log"
check "3: every copy is gone" test "$(left)" = 0

done_testing

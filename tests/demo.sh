#!/usr/bin/env bash
# make demo: a real recall, end to end, on a private lab (PostgreSQL, Postfix
# with recall-milter, Dovecot, recalld), all on loopback.  DEMO_KEEP=1 leaves
# the lab running and prints how to reach it.
set -u
. "$(dirname "$0")/integration/lib.sh"
[ "${DEMO_KEEP:-0}" = 1 ] && KEEP_LAB=1

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\ndemo: %s\n' "$*" >&2; exit 1; }

# mailbox USER: the user's messages as Dovecot reports them.
mailbox() {
	printf '  %-6s ' "$1:"
	local rows
	rows=$(doveadm_fetch "$1" 'mailbox uid flags hdr.subject' mailbox '*' all 2>/dev/null | tail -n +2)
	if [ -z "$rows" ]; then
		echo "(empty)"
	else
		printf '%s\n' "$rows" | sed '2,$s/^/         /' | tr '\t' ' '
	fi
}
mailboxes() { mailbox bob; mailbox carol; mailbox dave; }

step "Starting a private lab (PostgreSQL, Postfix + recall-milter, Dovecot, recalld) on 127.0.0.1"
lab_start
echo "  lab directory $LAB, SMTP port $SMTP_PORT, IMAP port $IMAP_PORT"

step "alice (authenticated) sends one message to bob, carol, dave and friend@ext.test"
send_mail alice@example.test bob@example.test carol@example.test dave@example.test friend@ext.test \
    --auth alice --subject "Q3 figures - draft, do not forward" \
    --body "The numbers in this draft are wrong." || fail "sending failed"
echo "  Message-ID $MSGID, Postfix queue id ${QID:-?}"
wait_queue_empty 30 || fail "the message did not leave the queue"
wait_delivered bob 1 && wait_delivered carol 1 && wait_delivered dave 1 ||
    fail "not delivered"

step "The tag recall-milter added (bob's copy, as Dovecot stores it)"
doveadm_fetch bob 'hdr.message-id hdr.x-recall-id' mailbox INBOX all | tail -n +2 | tr '\t' '\n' | sed 's/^/  /'
echo "  and the copy that left for ext.test carries it too:"
grep -h '^X-Recall-ID' $(sink_files 'Q3 figures') 2>/dev/null | head -n 1 | sed 's/^/  /'

step "What the milter recorded in PostgreSQL"
psql -X -h "$PGHOST" -U postgres -d recall -P pager=off -c \
    "SELECT m.recall_id, m.sender, m.auth_user, r.recipient, r.class
       FROM messages m JOIN recipients r USING (recall_id)
      WHERE m.message_id = '$MSGID' ORDER BY r.recipient" 2>&1 | sed 's/^/  /'

step "carol reads her copy in webmail (IMAP on the webmail listener, inside the system)"
imap_read carol 1 --port "$WEBMAIL_PORT" > /dev/null || fail "carol could not read"
echo "  done"

step "dave's desktop mail program (127.0.0.2) downloads his copy over IMAP, without marking it read"
curl -sS --interface 127.0.0.2 --user dave:davepw \
    "imap://127.0.0.1:$IMAP_PORT/INBOX" -X 'UID FETCH 1 BODY.PEEK[]' > /dev/null ||
    fail "dave's client could not fetch"
echo "  done: the copy is still unread, but it has left the system"

step "Mailboxes before the recall"
mailboxes

step "alice's administrator runs: recallctl recall '$MSGID'"
recallctl_lab recall "$MSGID"
rc=$?
echo "  (exit code $rc: 0 complete, 1 partial, 2 failed)"

step "Mailboxes after the recall"
mailboxes

step "The recalled copy waits in quarantine (restorable for policy.quarantine_days)"
psql -X -h "$PGHOST" -U postgres -d recall -P pager=off -c \
    "SELECT recipient, store_user, mailbox, length(message) AS bytes, expires_at::date
       FROM quarantine ORDER BY id" 2>&1 | sed 's/^/  /'

step "Every event of every copy: recallctl trace"
recallctl_lab trace "$MSGID" 2>&1 | sed 's/^/  /'

if [ "${DEMO_KEEP:-0}" = 1 ]; then
	step "The lab keeps running"
	echo "  . $LAB/env          # its variables (ports, config paths)"
	echo "  build/bin/recallctl -c $RECALL_CONF status '$MSGID'"
	echo "  tests/lab/lab.sh down $LAB && rm -rf $LAB"
fi
[ "$rc" -le 1 ] || exit 1

# tests/integration/lib.sh - shared helpers for the integration tests (bash).
#
#   . "$(dirname "$0")/lib.sh"
#   lab_start                      # a fresh lab, stopped again at exit
#   send_mail alice@example.test bob@example.test --auth alice || not_ok send
#   wait_delivered bob 1 && ok "bob got it" || not_ok "bob got it"
#   check "tag present" grep -q X-Recall-ID <(imap_read bob 1)
#   done_testing
#
# Output follows docs/design.md: "ok - NAME" / "not ok - NAME", diagnostics
# start with "# ". Environment: KEEP_LAB=1 leaves the lab running at exit
# (its directory and how to stop it are printed); KEEP_LAB=fail stops it but
# keeps its directory (logs) when a test failed. Every lab.sh variable
# (LAB_NO_MILTER=1 ...) passes through to "lab.sh up".  LAB_SANITIZED=1
# (with LAB_BIN_DIR naming ASan/UBSan builds): once the lab is down, one
# more case says whether the programs' logs hold a sanitizer report.

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LIB_DIR/../.." && pwd)
LAB_SH=$REPO/tests/lab/lab.sh
TESTS_PASSED=0
TESTS_FAILED=0

# ---- TAP-like output ------------------------------------------------------

# diag LINE...: each argument (or each line of stdin without arguments)
# as a "# " line.
diag() {
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" | sed 's/^/# /'
	else
		sed 's/^/# /'
	fi
}

ok() {
	echo "ok - $1"
	TESTS_PASSED=$((TESTS_PASSED + 1))
	return 0
}

# not_ok NAME [DIAGNOSTIC...]
not_ok() {
	echo "not ok - $1"
	shift
	[ $# -gt 0 ] && diag "$@"
	TESTS_FAILED=$((TESTS_FAILED + 1))
	return 1
}

# check NAME CMD...: ok when CMD exits 0; otherwise not ok with the command,
# its exit code and the tail of its output.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$name"
	else
		not_ok "$name" "command: $*" "exit code: $rc"
		[ -n "$out" ] && printf '%s\n' "$out" | tail -n 20 | diag
		return 1
	fi
}

# done_testing: "# N passed, N failed"; returns 1 when something failed.
# Use it last: "done_testing; exit".
done_testing() {
	diag "$TESTS_PASSED passed, $TESTS_FAILED failed"
	[ "$TESTS_FAILED" -eq 0 ]
}

# wait_for SECONDS CMD...: run CMD every 0.2 s until it succeeds.
wait_for() {
	local n=$(( $1 * 5 ))
	shift
	while [ $n -gt 0 ]; do
		"$@" > /dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	"$@" > /dev/null 2>&1
}

# wait_output SECONDS WANT CMD...: run CMD every 0.2 s until it prints WANT.
# (wait_for SECONDS test "$(CMD)" = WANT would run CMD once, before waiting.)
wait_output() {
	local n=$(( $1 * 5 )) want=$2
	shift 2
	while [ $n -gt 0 ]; do
		[ "$("$@" 2>/dev/null)" = "$want" ] && return 0
		sleep 0.2
		n=$((n - 1))
	done
	[ "$("$@" 2>/dev/null)" = "$want" ]
}

# sighups_above N: recalld's log shows more than N SIGHUP lines.
sighups_above() { test "$(grep -c 'SIGHUP' "$LAB/log/recalld.log")" -gt "$1"; }

# ---- the lab --------------------------------------------------------------

# lab_start: make a lab in a fresh /tmp directory, stop it at exit, and
# source its variables (LAB, SMTP_PORT, ... see tests/lab/README.md).
lab_start() {
	LAB=$(mktemp -d /tmp/recall-lab.XXXXXX) || {
		echo "not ok - lab up"
		exit 1
	}
	chmod 755 "$LAB"
	trap lab_stop EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if ! "$LAB_SH" up "$LAB"; then
		echo "not ok - lab up"
		exit 1
	fi
	. "$LAB/env"
}

# sanitizer_clean: the programs stopped (their leak reports are written);
# ok if no log of recall-milter or recalld holds a sanitizer report.
sanitizer_clean() {
	local f found=0
	for f in "$LAB"/log/recall-milter.log "$LAB"/log/recalld.log; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
			found=1
			grep -E -A 12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" |
			    head -n 40 | diag
		fi
	done
	if [ $found = 0 ]; then
		ok "sanitizers: no report from recall-milter or recalld"
	else
		not_ok "sanitizers: no report from recall-milter or recalld"
	fi
	return $found
}

# lab_stop: stop the lab and remove its directory (see KEEP_LAB above).
# Installed as the EXIT trap by lab_start; keeps the script's exit code.
lab_stop() {
	local rc=$?
	trap - EXIT
	if [ -z "${LAB:-}" ] || [ ! -d "$LAB" ]; then
		return $rc
	fi
	if [ "${KEEP_LAB:-0}" = 1 ]; then
		diag "KEEP_LAB=1: the lab keeps running in $LAB" \
		    "  . $LAB/env    # its variables" \
		    "  $LAB_SH down $LAB && rm -rf $LAB"
		return $rc
	fi
	"$LAB_SH" down "$LAB"
	if [ "${LAB_SANITIZED:-0}" = 1 ] && ! sanitizer_clean; then
		[ $rc -ne 0 ] || rc=1
	fi
	if [ "${KEEP_LAB:-0}" = fail ] &&
	    { [ $rc -ne 0 ] || [ "$TESTS_FAILED" -gt 0 ]; }; then
		diag "KEEP_LAB=fail: logs kept in $LAB/log"
	else
		rm -rf "$LAB"
	fi
	return $rc
}

# lab_restart milter|recalld: restart one program, e.g. after editing
# $RECALL_CONF.
lab_restart() {
	"$LAB_SH" restart "$LAB" "$1"
}

# ---- mail in --------------------------------------------------------------

# send_mail FROM TO... [options]: submit one message by SMTP to the lab's
# Postfix with swaks. Options:
#   --auth USER        authenticated as USER (XCLIENT LOGIN=USER)
#   --sasl USER        real SMTP AUTH PLAIN as USER (password USERpw)
#   --from-ip IP       connect from IP (127.0.0.1 is inside, 127.0.0.5 outside)
#   --header 'N: v'    add (or replace) a header; repeatable
#   --subject S        Subject (default "lab test")
#   --body B           body text
#   --message-id ID    Message-ID (default: a fresh <lab.N@example.test>)
#   --data FILE        the whole message from FILE (headers still apply)
#   --quiet            no diagnostics on failure
# Sets MSGID (with <>), QID (Postfix queue id or empty) and SMTP_REPLY (the
# server's last reply); returns swaks's exit code (0 = queued).
send_mail() {
	local from=$1 to="" quiet=0 out rc subject="lab test" port=$SMTP_PORT
	local inside=1
	local -a args=()
	shift
	MSGID="<lab.$(date +%s%N).$RANDOM@example.test>"
	while [ $# -gt 0 ]; do
		case "$1" in
		--auth) args+=(--xclient-login "$2"); shift 2 ;;
		--sasl) args+=(--auth PLAIN --auth-user "$2" --auth-password "${2%%@*}pw")
			shift 2 ;;
		--from-ip) args+=(--local-interface "$2")
			[ "$2" = 127.0.0.1 ] || inside=0
			shift 2 ;;
		--header) args+=(--header "$2"); shift 2 ;;
		--subject) subject=$2; shift 2 ;;
		--body) args+=(--body "$2"); shift 2 ;;
		--message-id) MSGID=$2; shift 2 ;;
		--data) args+=(--data "$2"); shift 2 ;;
		--port) port=$2; shift 2 ;;
		--quiet) quiet=1; shift ;;
		-*) echo "# send_mail: unknown option $1" >&2; return 64 ;;
		recall@*) to="${to:+$to,}$1"; inside=0; shift ;;
		*) to="${to:+$to,}$1"; shift ;;
		esac
	done
	case "$MSGID" in "<"*) ;; *) MSGID="<$MSGID>" ;; esac
	out=$(swaks --server 127.0.0.1 --port "$port" --timeout 30 \
	    --from "$from" --to "$to" --helo client.lab.test \
	    --header "Subject: $subject" --header "Message-Id: $MSGID" \
	    "${args[@]}" 2>&1)
	rc=$?
	QID=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' | tail -n 1)
	# swaks marks replies "<- ", "<~ " and errors "<** "; after an error
	# the last reply is QUIT's 221, so the last error wins.
	SMTP_REPLY=$(printf '%s\n' "$out" | grep -E '^<\*\* +[0-9]{3}' | tail -n 1 | sed 's/^<[-*~]* *//')
	[ -n "$SMTP_REPLY" ] ||
	    SMTP_REPLY=$(printf '%s\n' "$out" | grep -E '^<[-~] +[0-9]{3}' | tail -n 1 | sed 's/^<[-*~]* *//')
	if [ -n "${LAB:-}" ] && [ -d "$LAB/log" ]; then
		printf '%s\n' "$out" >> "$LAB/log/swaks.log"
	fi
	# Inside mail is recorded by the milter's writer a moment after the
	# SMTP dialogue ends; a test that recalls at once must find it.
	if [ $rc -eq 0 ] && [ "$inside" = 1 ] && [ "${LAB_MILTER:-0}" = 1 ]; then
		wait_recorded "$MSGID" 10 || true
	fi
	if [ $rc -ne 0 ] && [ $quiet = 0 ]; then
		diag "send_mail $from -> $to: swaks exit $rc"
		printf '%s\n' "$out" | grep -E '^(<|\*\*\*)' | tail -n 8 | diag
	fi
	return $rc
}

# wait_recorded MSGID [SECONDS]: until the milter's record of MSGID is in
# PostgreSQL (default 10 s).
wait_recorded() {
	local n=$(( ${2:-10} * 10 ))
	while [ $n -gt 0 ]; do
		[ "$(echo "SELECT count(*) FROM messages WHERE message_id = :'id'" |
		    psql -X -At -h "$PGHOST" -U postgres -d recall -v id="$1" \
		    2>/dev/null)" != 0 ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	diag "wait_recorded: $1 is not recorded after ${2:-10} s"
	return 1
}

# sendmail_lab ARGS...: the lab's sendmail(1) (local submission), message on
# stdin. Example: printf 'Subject: x\n\nhi\n' | sendmail_lab -f bob@example.test carol@example.test
sendmail_lab() {
	/usr/sbin/sendmail -C "$POSTFIX_CONF" "$@"
}

# ---- waiting ---------------------------------------------------------------

# wait_queue_empty [SECONDS]: until Postfix's queue is empty (default 30 s).
wait_queue_empty() {
	local n=$(( ${1:-30} * 5 ))
	while [ $n -gt 0 ]; do
		postqueue -c "$POSTFIX_CONF" -p 2>/dev/null |
		    grep -q '^Mail queue is empty' && return 0
		sleep 0.2
		n=$((n - 1))
	done
	diag "queue not empty after ${1:-30} s:"
	postqueue -c "$POSTFIX_CONF" -p 2>&1 | head -n 20 | diag
	return 1
}

# mail_count USER [QUERY...]: how many messages doveadm search finds
# (default query: every mailbox).
mail_count() {
	local user=$1
	shift
	[ $# -gt 0 ] || set -- mailbox '*' all
	doveadm -c "$DOVECOT_CONF" search -u "$user" "$@" 2>/dev/null | grep -c .
}

# wait_delivered USER N [SECONDS]: until USER has at least N messages
# (any mailbox; default 20 s).
wait_delivered() {
	local user=$1 want=$2 n=$(( ${3:-20} * 5 )) have=0
	while [ $n -gt 0 ]; do
		have=$(mail_count "$user")
		[ "$have" -ge "$want" ] && return 0
		sleep 0.2
		n=$((n - 1))
	done
	diag "wait_delivered: $user has $have message(s), wanted $want"
	return 1
}

# wait_log FILE ERE [SECONDS]: until a line of FILE matches ERE (default 20 s).
# Example: wait_log "$MAILLOG" "$QID: removed"
wait_log() {
	local n=$(( ${3:-20} * 5 ))
	while [ $n -gt 0 ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
		n=$((n - 1))
	done
	diag "wait_log: no line matching '$2' in $1"
	return 1
}

# ---- mailboxes --------------------------------------------------------------

# doveadm_fetch USER FIELDS QUERY...: doveadm fetch in tab format; the first
# output line names the fields. Does not change \Seen, \Recent or new/.
# Example: doveadm_fetch bob 'uid flags hdr.x-recall-id' mailbox INBOX all
doveadm_fetch() {
	local user=$1 fields=$2
	shift 2
	doveadm -c "$DOVECOT_CONF" -f tab fetch -u "$user" "$fields" "$@"
}

# doveadm_api JSON: POST a doveadm HTTP API request, print the response.
# Example: doveadm_api '[["search",{"user":"bob","query":["all"]},"t1"]]'
doveadm_api() {
	curl -sS -H "Authorization: X-Dovecot-API $(printf %s "$DOVEADM_KEY" | base64)" \
	    -H 'Content-Type: application/json' --data-binary "$1" "$DOVEADM_URL"
}

# imap_read USER UID [--port P] [--from-ip IP] [--mailbox M]: download the
# message body by IMAP (SELECT + UID FETCH BODY[]: sets \Seen and emits
# mail_opened imap:fetch_body). --port "$WEBMAIL_PORT" reads as webmail.
imap_read() {
	local user=$1 uid=$2 port=$IMAP_PORT box=INBOX
	local -a args=()
	shift 2
	while [ $# -gt 0 ]; do
		case "$1" in
		--port) port=$2; shift 2 ;;
		--from-ip) args+=(--interface "$2"); shift 2 ;;
		--mailbox) box=$2; shift 2 ;;
		*) echo "# imap_read: unknown option $1" >&2; return 64 ;;
		esac
	done
	curl -sS "${args[@]}" --user "$user:${user}pw" \
	    "imap://127.0.0.1:$port/$box;UID=$uid"
}

# pop3_read USER N [--port P] [--from-ip IP]: RETR message N by POP3 (then
# QUIT: sets \Seen, mail_opened pop3:cmd_retr).
pop3_read() {
	local user=$1 num=$2 port=$POP3_PORT
	local -a args=()
	shift 2
	while [ $# -gt 0 ]; do
		case "$1" in
		--port) port=$2; shift 2 ;;
		--from-ip) args+=(--interface "$2"); shift 2 ;;
		*) echo "# pop3_read: unknown option $1" >&2; return 64 ;;
		esac
	done
	curl -sS "${args[@]}" --user "$user:${user}pw" "pop3://127.0.0.1:$port/$num"
}

# sink_files ERE: the files the ext.test sink captured that match ERE.
sink_files() {
	grep -rlE -- "$1" "$SINK_DIR" 2>/dev/null
}

# ---- database and programs --------------------------------------------------

# psql_lab SQL [PSQL-ARGS...]: run SQL as the superuser in database recall;
# unaligned, tuples only.
psql_lab() {
	local sql=$1
	shift
	psql -X -At -v ON_ERROR_STOP=1 -h "$PGHOST" -U postgres -d recall \
	    -c "$sql" "$@"
}

# recallctl_lab ARGS...: build/bin/recallctl with the lab's configuration.
recallctl_lab() {
	"${LAB_BIN_DIR:-$REPO/build/bin}/recallctl" -c "$RECALL_CONF" "$@"
}

# ctl ARGS...: recallctl_lab with stdout to $OUT and stderr to $ERR (the
# test sets both), exit code to $RC.
ctl() {
	recallctl_lab "$@" > "$OUT" 2> "$ERR"
	RC=$?
	diag "recallctl $* -> exit $RC"
}

# ctl_as USER ARGS...: like ctl, as the non-root unix user USER (recalld
# learns the caller from the socket's peer credentials).
ctl_as() {
	local u=$1
	shift
	runuser -u "$u" -- "${LAB_BIN_DIR:-$REPO/build/bin}/recallctl" \
	    -c "$RECALL_CONF" "$@" > "$OUT" 2> "$ERR"
	RC=$?
	diag "($u) recallctl $* -> exit $RC"
}

# outcome_of RECIPIENT, reason_of RECIPIENT: that copy's outcome or reason
# in the recallctl JSON answer in $OUT.
outcome_of() {
	jq -r --arg r "$1" '.copies[] | select(.recipient == $r) | .outcome' "$OUT"
}
reason_of() {
	jq -r --arg r "$1" '.copies[] | select(.recipient == $r) | .reason' "$OUT"
}

# recalld_hup: SIGHUP recalld, wait until it logged the result.  Sets RPID
# (recalld's pid).
recalld_hup() {
	local n
	n=$(grep -c 'SIGHUP' "$LAB/log/recalld.log")
	read -r RPID _ < "$LAB/run/recalld.pid"
	kill -HUP "$RPID"
	wait_for 10 sighups_above "$n"
	sleep 0.3
}

# gate_start: put tests/integration/doveadm_gate.py between recalld and
# Dovecot's doveadm API (recall.conf's doveadm_url, reloaded by SIGHUP),
# stopped with the lab.  Sets GATE (its directory: "hook", "log"), GPORT,
# GATE_PID and RPID (recalld's pid).
gate_start() {
	GATE=$LAB/gate
	mkdir -p "$GATE"
	python3 "$LIB_DIR/doveadm_gate.py" "$DOVEADM_URL" "$GATE/port" \
	    "$GATE" 2> "$LAB/log/gate.err" &
	GATE_PID=$!
	trap gate_stop EXIT
	wait_for 10 test -s "$GATE/port" || not_ok "the gate listens"
	GPORT=$(cat "$GATE/port")
	sed -i "s|^\(  doveadm_url = \).*;|\1\"http://127.0.0.1:$GPORT/doveadm/v1\";|" \
	    "$RECALL_CONF"
	recalld_hup
}

gate_stop() {
	local rc=$?
	kill "$GATE_PID" 2> /dev/null
	wait "$GATE_PID" 2> /dev/null
	(exit $rc)
	lab_stop
}

# dove ARGS...: doveadm with the lab's Dovecot; its stderr is dropped.
dove() { doveadm -c "$DOVECOT_CONF" "$@" 2>/dev/null; }

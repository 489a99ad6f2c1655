#!/bin/bash
# t_pop3_restart.sh - a POP3 download keeps its client address when recalld
# restarts between the login and the RETR.
#
# A POP3 mail_opened event carries no address: recalld joins it by session
# to the earlier auth_client_request_finished event (real_remote_ip,
# local_port).  The follower never reads the login line again after a
# restart, so the login is kept in PostgreSQL (dovecot_login) and looked up
# when the session is not in memory.  With real clients against the lab:
#
#   1. control, no restart: POP3 RETR from 127.0.0.2   -> left-pop3, names 127.0.0.2
#   2. login, restart recalld, then RETR from 127.0.0.2 -> the same
#   3. the same through the sync gateway (127.0.0.3)    -> left-mobile
#   4. every login line is stored once, restarts or not (dedup key)
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_pop3_restart_out
ERR=$LAB/log/t_pop3_restart_err

OPENED='"event":"mail_opened"'
AUTH='"event":"auth_client_request_finished"'

# log_count ERE: matching lines in the Dovecot log.
log_count() { grep -Ec -- "$1" "$DOVECOT_LOG"; }

# deliver TO SUBJECT: alice sends one message to TO; waits until the queue
# is empty and TO's mailbox has it.  Sets MSGID.
deliver() {
	send_mail alice@example.test "$1@example.test" --auth alice \
	    --subject "$2" --quiet || diag "send to $1 failed: $SMTP_REPLY"
	wait_queue_empty 20 > /dev/null
	wait_delivered "$1" 1
}

# logins USER IP: rows recalld stored for USER's logins from IP.
logins() {
	psql_lab "select count(*) from dovecot_login where username = '$1' and real_remote_ip = '$2'"
}

# pop3_session USER FROM-IP DIR: log in by POP3 from FROM-IP, touch
# DIR/ready, wait (at most 60 s) for DIR/go, then RETR 1 and QUIT in the
# same session.  Runs in the foreground; start it with &.
pop3_session() {
	python3 "$LIB_DIR/pop3client.py" "$POP3_PORT" "$1" "$2" "pause:$3" \
	    "RETR 1"
}

# restart_case USER FROM-IP NAME: the POP3 session of pop3_session with a
# restart of recalld between its login and its RETR.
restart_case() {
	local user=$1 ip=$2 name=$3 dir pid before n old new
	dir=$(mktemp -d "$LAB/pop3.XXXXXX")
	before=$(logins "$user" "$ip")
	n=$(log_count "$OPENED.*pop3:cmd_retr")
	pop3_session "$user" "$ip" "$dir" > "$dir/out" 2>&1 &
	pid=$!
	wait_for 15 test -e "$dir/ready" || diag "$name: no POP3 login"
	# recalld reads the log every second: wait until it stored the login.
	check "$name: recalld stored the login before the restart" \
	    wait_for 15 eval "[ \$(logins $user $ip) -gt $before ]"
	old=$(cat "$LAB/run/recalld.pid" 2>/dev/null)
	lab_restart recalld > /dev/null
	new=$(cat "$LAB/run/recalld.pid" 2>/dev/null)
	check "$name: recalld restarted between login and RETR" \
	    test -n "$new" -a "$old" != "$new"
	touch "$dir/go"
	wait "$pid"
	diag < "$dir/out"
	wait_for 10 eval "[ \$(log_count '$OPENED.*pop3:cmd_retr') -gt $n ]" ||
	    diag "$name: no mail_opened pop3:cmd_retr logged"
	rm -rf "$dir"
}

# ---- 1. control: no restart ---------------------------------------------------
deliver bob "pop3 no restart"
M=$MSGID
d=$(mktemp -d "$LAB/pop3.XXXXXX")
n=$(log_count "$OPENED.*pop3:cmd_retr")
touch "$d/go"
pop3_session bob 127.0.0.2 "$d" | diag
wait_for 10 eval "[ \$(log_count '$OPENED.*pop3:cmd_retr') -gt $n ]"
rm -rf "$d"
ctl --json recall "$M"
check "no restart: left-pop3" test "$(outcome_of bob@example.test)" = left-pop3
check "no restart: reason names POP3 and 127.0.0.2" \
    eval "reason_of bob@example.test | grep -q 'POP3 from 127.0.0.2'"
check "no restart: the copy stays" test "$(mail_count bob)" = 1

# ---- 2. restart between login and RETR -----------------------------------------
deliver carol "pop3 restart"
M=$MSGID
restart_case carol 127.0.0.2 "restart"
ctl --json recall "$M"
check "restart: left-pop3" test "$(outcome_of carol@example.test)" = left-pop3
check "restart: reason names POP3 and 127.0.0.2" \
    eval "reason_of carol@example.test | grep -q 'POP3 from 127.0.0.2'"
check "restart: reason does not say unknown address" \
    eval "! reason_of carol@example.test | grep -q 'unknown address'"
check "restart: the copy stays" test "$(mail_count carol)" = 1
ctl --json trace "$M"
check "restart: the trace shows the download" \
    test "$(jq '[.events[] | select(.event == "downloaded-pop3")] | length' "$OUT")" = 1

# ---- 3. the sync gateway across a restart ----------------------------------------
deliver dave "pop3 gateway restart"
M=$MSGID
restart_case dave 127.0.0.3 "gateway restart"
ctl --json recall "$M"
check "gateway restart: left-mobile (not left-pop3 from an unknown address)" \
    test "$(outcome_of dave@example.test)" = left-mobile
check "gateway restart: reason names the gateway" \
    eval "reason_of dave@example.test | grep -q 'mobile device through 127.0.0.3'"

# ---- 4. every login stored once ---------------------------------------------------
# The recall above read the log up to now; two restarts resumed the
# follower at its saved position, so no login line was read twice.
check "dedup: one dovecot_login row per login line" \
    test "$(psql_lab "select count(*) from dovecot_login")" = "$(log_count "$AUTH.*\"session\":")"
check "dedup: no session stored twice" \
    test "$(psql_lab "select count(*) from (select session from dovecot_login group by session having count(*) > 1) d")" = 0
check "the auditor cannot read logins" \
    eval "! psql -X -At -h '$PGHOST' -U recall_auditor -d recall -c 'select 1 from dovecot_login' > /dev/null 2>&1"

# ---- 5. old logins are forgotten -------------------------------------------------
# recalld purges at start-up (and hourly) logins older than 7 days.
psql_lab "insert into dovecot_login (dedup_key, session, at) values
    ('t_pop3_restart/old', 'oldsession', now() - interval '8 days'),
    ('t_pop3_restart/new', 'newsession', now() - interval '6 days')" > /dev/null
lab_restart recalld
check "purge: a login of 8 days ago is forgotten at start-up" \
    wait_output 10 0 psql_lab "select count(*) from dovecot_login where session = 'oldsession'"
check "purge: a login of 6 days ago is kept" \
    test "$(psql_lab "select count(*) from dovecot_login where session = 'newsession'")" = 1
check "purge: logged" grep -q 'forgot 1 Dovecot login older than 7 days' "$LAB/log/recalld.log"

done_testing

#!/bin/bash
# t_milter_dbdown.sh - the database never holds mail back.  PostgreSQL is
# stopped; 200 inside messages over 10 SMTP sessions are all delivered
# tagged; the milter is killed with SIGKILL in the middle of a second load
# and restarted; PostgreSQL comes back; every delivered message is then
# recorded exactly once (nothing lost, nothing duplicated).
. "$(dirname "$0")/lib.sh"
lab_start

pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_ctl_lab() { (cd "$LAB/pg" && runuser -u postgres -- "$pgbin/pg_ctl" -D "$LAB/pg/data" "$@"); }
delivered_ids() {	# the recall ids in erin's mailbox, one a line
	doveadm_fetch erin 'hdr.x-recall-id' mailbox INBOX all | tail -n +2 |
	    sed -n 's/^r1-\([0-9a-f]\{24\}\)-.*/\1/p' | sort
}
load() {	# N messages over 10 sessions to erin, inside (127.0.0.1)
	smtp-source -s 10 -m "$1" -l 512 -f alice@example.test \
	    -t erin@example.test "127.0.0.1:$SMTP_PORT"
}

check "PostgreSQL stopped" pg_ctl_lab -m fast -w stop

# Phase 1: 200 messages with the database down.
t0=$(date +%s.%N)
load 200 2>&1 | diag
wait_queue_empty 60
wait_delivered erin 200 30
t1=$(date +%s.%N)
diag "200 messages delivered in $(echo "$t1 - $t0" | bc) s with PostgreSQL down"
check "phase 1: 200 delivered, each with one valid-looking tag" \
    test "$(delivered_ids | uniq | wc -l)" = 200
check "phase 1: records wait in the spool" \
    test "$(cat "$LAB"/spool/recall/spool.* | grep -c '"type":"message"')" -ge 200

# Phase 2: kill -9 the milter in the middle of another 400.
load 400 > "$LAB/log/load2.log" 2>&1 &
lp=$!
sleep 1
read -r mpid _ < "$LAB/run/recall-milter.pid"
check "milter killed with SIGKILL mid-load" kill -9 "$mpid"
diag "$(mail_count erin) messages delivered when the milter was killed"
sleep 0.3
check "milter restarted" lab_restart milter
wait "$lp"
diag "load 2: smtp-source said:"; tail -n 5 "$LAB/log/load2.log" | diag
wait_queue_empty 120
sleep 1
n=$(delivered_ids | wc -l)
diag "$n messages delivered in total"
check "phase 2: every delivered copy is tagged once" \
    test "$(delivered_ids | uniq | wc -l)" = "$n"

# The database comes back; the writer drains the spool.
check "PostgreSQL started" pg_ctl_lab -l "$LAB/log/postgres.log" -w start
rows() { psql_lab "select count(*) from recipients where recipient = 'erin@example.test'"; }
recorded() { [ "$(rows)" -ge "$n" ]; }
t2=$SECONDS
wait_for 60 recorded
diag "the writer caught up $((SECONDS - t2)) s after PostgreSQL came back"
sleep 2
db_ids=$(psql_lab "select m.recall_id from messages m join recipients r using (recall_id) where r.recipient = 'erin@example.test' order by 1")
missing=$(comm -23 <(delivered_ids) <(printf '%s\n' "$db_ids") | wc -l)
check "no delivered message lost: all $n recorded" test "$missing" = 0
check "no record duplicated" \
    test "$(psql_lab "select count(*) - count(distinct recall_id) from messages")" = 0
extra=$(comm -13 <(delivered_ids) <(printf '%s\n' "$db_ids") | wc -l)
diag "$extra record(s) of messages that were tempfailed by the kill (never delivered)"
check "at most a handful of such orphans (messages in flight at the kill)" \
    test "$extra" -le 20
segments() { [ "$(ls "$LAB"/spool/recall | grep -c '^spool\.')" -le 2 ]; }
check "the spool is drained: committed segments removed" wait_for 20 segments
check "every record has a queue id" \
    test "$(psql_lab "select count(*) from messages where queue_id is null")" = 0

# Strict mode (on_db_error = tempfail) with a long spool sync delay: the
# 250 for a message means its record is committed, so each message waits
# for its own record's sync rather than the delay.
sed -i -e 's/^  on_db_error = .*/  on_db_error = "tempfail";\n  spool_sync_delay = 1000;/' \
    "$RECALL_CONF"
check "milter restarted in strict mode" lab_restart milter
check "strict mode: the milter says so at start" wait_log \
    "$LAB/log/recall-milter.log" 'sync delay 1000 ms\), on_db_error tempfail' 10
before=$(rows)
t3=$(date +%s.%N)
smtp-source -s 1 -m 20 -l 512 -f alice@example.test -t erin@example.test \
    "127.0.0.1:$SMTP_PORT" 2>&1 | diag
after=$(rows)
diag "20 strict-mode messages in $(echo "$(date +%s.%N) - $t3" | bc) s (each waits for its record's commit, not for the 1 s sync delay)"
check "strict mode: all 20 accepted messages recorded by the time the client is done" \
    test "$((after - before))" = 20

done_testing

#!/bin/bash
# t_ledger_batches.sh - the log followers write in batches, and a batch's
# rows and its position commit together, also while the next batch is
# being read (recalld/follow.c sends a full batch deferred and parses the
# next one meanwhile).
#
# For each log (Postfix, then Dovecot) 7,000 lines are appended at once,
# 4 batches of at most 2,000 lines for recalld.  A trigger makes PostgreSQL
# refuse the row of line 3,000, so a batch that was sent deferred fails
# while recalld parses the one after it:
#   1. the batches before it are committed: the rows in the ledger are
#      exactly the lines before the saved position, none after it;
#   2. the failed batch is not half in: the refused line's neighbours are
#      not either;
#   3. without the trigger, recalld goes on from there: every line is in
#      once, and the position is the end of the file.
# Then recalld's database session is terminated again and again while
# 200,000 more lines arrive: it reconnects and puts every line in once.
. "$(dirname "$0")/lib.sh"
lab_start

N=7000
BAD=3000
work=$LAB/log/t_ledger_batches
mkdir -p "$work"

# pos SOURCE: the offset saved for that follower.
pos() { psql_lab "select \"offset\" from follower_state where source = '$1'"; }

# caught_up SOURCE FILE: the saved offset is the file's size.
caught_up() { test "$(pos "$1")" = "$(stat -c %s "$2")"; }

# lines_before FILE START OFFSET: how many lines of FILE that start at or
# after byte START end at or before OFFSET (complete lines only).
lines_before() {
	tail -c +"$(($2 + 1))" "$1" | head -c "$(($3 - $2))" | wc -l
}

psql_lab "
CREATE FUNCTION t_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.recipient = 'refused@ext.test' OR NEW.mailbox = 'Refused' THEN
		RAISE EXCEPTION 'refused by the test';
	END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER t_refuse BEFORE INSERT ON route_event
    FOR EACH ROW EXECUTE FUNCTION t_refuse();" >/dev/null

wait_for 20 caught_up postfix "$MAILLOG"
wait_for 20 caught_up dovecot "$DOVECOT_LOG"

now=$(LC_ALL=C date '+%b %e %H:%M:%S')

# ---- Postfix: one relayed line a queue file --------------------------------
awk -v n=$N -v bad=$BAD -v now="$now" 'BEGIN {
	for (i = 1; i <= n; i++)
		printf "%s mx postfix/smtp[%d]: B%010X: to=<%s@ext.test>, relay=127.0.0.1[127.0.0.1]:25, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n", now, 900 + i % 50, i, i == bad ? "refused" : "r" i
}' > "$work/postfix"
start=$(stat -c %s "$MAILLOG")
cat "$work/postfix" >> "$MAILLOG"
bad_at=$(( start + $(head -n $((BAD - 1)) "$work/postfix" | wc -c) ))

pf_rows() { psql_lab "select count(*) from route_event where source = 'postfix' and queue_id like 'B%' and event = 'relayed'"; }
wait_for 30 grep -q "refused by the test" "$LAB/log/recalld.log"
sleep 1
p=$(pos postfix)
in=$(lines_before "$MAILLOG" "$start" "$p")
check "postfix: the batches before the refused line are committed" \
    test "$in" -ge 1 -a "$p" -le "$bad_at"
check "postfix: the rows are exactly the lines before the position ($in)" \
    test "$(pf_rows)" = "$in"
check "postfix: nothing of the failed batch is in" \
    test "$(psql_lab "select count(*) from route_event where queue_id = 'B$(printf %010X $((BAD - 1)))'")" = 0

psql_lab "DROP TRIGGER t_refuse ON route_event" >/dev/null
wait_for 60 caught_up postfix "$MAILLOG"
check "postfix: caught up to the end of the file after the failure" \
    caught_up postfix "$MAILLOG"
check "postfix: every line is in once ($N)" \
    test "$(pf_rows)" = $N
check "postfix: one row a queue file" \
    test "$(psql_lab "select count(distinct queue_id) from route_event where source = 'postfix' and queue_id like 'B%'")" = $N

# ---- Dovecot: one LMTP save a line ------------------------------------------
psql_lab "CREATE TRIGGER t_refuse BEFORE INSERT ON route_event
    FOR EACH ROW EXECUTE FUNCTION t_refuse()" >/dev/null
awk -v n=$N -v bad=$BAD -v now="$now" 'BEGIN {
	for (i = 1; i <= n; i++)
		printf "%s lmtp(batchuser)<%d><Qk%020d><rip=><lip=><auth=batchuser>: Info: save: box=%s, uid=%d, msgid=<b%d@example.test>, size=673, vsize=694, from=sender@example.test, subject=batch %d, flags=()\n", now, 900 + i % 50, i, i == bad ? "Refused" : "INBOX", i, i, i
}' > "$work/dovecot"
start=$(stat -c %s "$DOVECOT_LOG")
cat "$work/dovecot" >> "$DOVECOT_LOG"
bad_at=$(( start + $(head -n $((BAD - 1)) "$work/dovecot" | wc -c) ))

dv_rows() { psql_lab "select count(*) from route_event where source = 'dovecot' and copy_addr = 'batchuser' and event = 'saved'"; }
# recalld logs the error at most once a minute: wait for the position to
# stop moving instead.
pos_above() { test "$(pos dovecot)" -gt "$1"; }
wait_for 30 pos_above "$start"
prev=-1
for _ in $(seq 20); do
	p=$(pos dovecot)
	[ "$p" = "$prev" ] && break
	prev=$p
	sleep 1
done
in=$(lines_before "$DOVECOT_LOG" "$start" "$p")
check "dovecot: the batches before the refused line are committed" \
    test "$in" -ge 1 -a "$p" -le "$bad_at"
check "dovecot: the rows are exactly the lines before the position ($in)" \
    test "$(dv_rows)" = "$in"
check "dovecot: nothing of the failed batch is in" \
    test "$(psql_lab "select count(*) from route_event where copy_addr = 'batchuser' and uid = $((BAD - 1))")" = 0

psql_lab "DROP TRIGGER t_refuse ON route_event" >/dev/null
wait_for 60 caught_up dovecot "$DOVECOT_LOG"
check "dovecot: caught up to the end of the file after the failure" \
    caught_up dovecot "$DOVECOT_LOG"
check "dovecot: every line is in once ($N)" \
    test "$(dv_rows)" = $N
check "dovecot: one row a uid" \
    test "$(psql_lab "select count(distinct uid) from route_event where copy_addr = 'batchuser'")" = $N

# ---- The connection dies while batches are in flight ------------------------
# 200,000 lines are appended in 20 pieces while recalld's database session
# is terminated every 0.3 s.  It must reconnect each time (libpq left in
# pipeline mode by a cut-short deferred batch included) and still put every
# line in once.
M=200000
awk -v n=$M -v now="$now" 'BEGIN {
	for (i = 1; i <= n; i++)
		printf "%s mx postfix/smtp[%d]: C%010X: to=<k%d@ext.test>, relay=127.0.0.1[127.0.0.1]:25, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n", now, 900 + i % 50, i, i
}' > "$work/postfix2"
split -n l/20 "$work/postfix2" "$work/piece."
(
	for _ in $(seq 25); do
		psql_lab "select count(pg_terminate_backend(pid)) from pg_stat_activity where usename = 'recalld'"
		sleep 0.3
	done
) > "$work/kills" 2>/dev/null &
killer=$!
for f in "$work"/piece.*; do
	cat "$f" >> "$MAILLOG"
	sleep 0.3
done
wait "$killer"
diag "recalld sessions terminated: $(paste -sd+ "$work/kills" | bc)"
wait_for 90 caught_up postfix "$MAILLOG"
check "killed sessions: caught up to the end of the file" \
    caught_up postfix "$MAILLOG"
check "killed sessions: every line is in once ($M)" \
    test "$(psql_lab "select count(*), count(distinct queue_id) from route_event where queue_id like 'C%' and event = 'relayed'")" = "$M|$M"
check "killed sessions: recalld still runs" \
    kill -0 "$(cut -d' ' -f1 "$LAB/run/recalld.pid")"

done_testing

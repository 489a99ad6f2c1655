#!/usr/bin/env bash
# bench/milter/run.sh - what the milter costs Postfix (issue #3).
#
#   bash bench/milter/run.sh                       # all targets and modes
#   TARGETS=relay MODES="trivial skeleton recall" bash bench/milter/run.sh
#
# One private lab (tests/lab/lab.sh, no recalld), real Postfix, and for
# each target
#   relay  Postfix -> smtp(8) -> an smtp-sink on loopback (no dump)
#   lmtp   Postfix -> Dovecot LMTP -> Maildir (a fresh user per mode)
# each mode
#   none            smtpd_milters empty
#   trivial         bench/milter/trivial_milter.c (adds one header at EOM),
#                   unix socket
#   skeleton        trivial_milter -a: the same, but with recall-milter's
#                   callbacks and protocol negotiation (connect, MAIL, RCPT,
#                   each header, body, EOM; the same "no reply" steps and
#                   macro lists), doing nothing in them; unix socket.  The
#                   yardstick with the same protocol steps as recall-milter:
#                   trivial -> skeleton is what the milter protocol itself
#                   costs (the packets Postfix sends per header and
#                   recipient), skeleton -> recall is recall-milter's work
#   recall          recall-milter: tags, spools, records into PostgreSQL
#   recall-pgdown   recall-milter with PostgreSQL stopped (spool only)
# and, only when named in MODES (a diagnostic, not part of issue #3),
#   recall-sync0    a second recall-milter with milter.spool_sync_delay
#                   = 0: every message waits for the fdatasync of its own
#                   record (group commit), as before the sync delay; the
#                   A/B of that setting in one run
#   recall-noaddr   a second recall-milter whose configuration lacks
#                   milter.recall_address, so RCPT needs no reply
#
# Method.  On a small, shared machine a single run of one mode swings by
# +-20 %, so modes are compared only within a round: ROUNDS rounds (default
# 5) per target, each running every mode once with N messages (default
# 500; smtp-source -s S, default 10 sessions, from 127.0.0.1 = inside:
# every message is tagged and recorded), the order of the modes reversed
# in every other round (A B C D, D C B A, ...) so that a drift in the
# background load hits all modes alike.  The queue is drained before the
# next run starts.  Reported per run: inj msg/s (N / smtp-source wall
# time), e2e msg/s (N / time until the queue is empty) and the CPU time per
# message of the milter, of PostgreSQL and of the whole machine; per mode
# the inj ratio to "trivial" of every round and the median of those
# ratios (the figure to compare with issue #3's 0.95), the same ratios to
# "skeleton" (when it ran), and medians of the rates and of Postfix's
# delays=a (before the queue manager: smtpd, cleanup and the milter).
#
# Latency: in each round, per mode, LAT messages (default 100) one after
# the other over one SMTP session (bench/milter/smtplat.py), MAIL FROM to
# the final 250; p50/p99 over the samples of all rounds, and the p99 added
# over "none", over "trivial" and (when it ran) over "skeleton".
#
# recall-pgdown stops PostgreSQL before its run and starts it again after,
# and counts how long the spooled records take to arrive.
#
# Root only (the lab is).  Output lines start with "# " except the tables.
# About 6 minutes with the defaults (37 s per target and round).
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
N=${N:-500}
S=${S:-10}
LAT=${LAT:-100}
ROUNDS=${ROUNDS:-5}
MODES=${MODES:-"none trivial skeleton recall recall-pgdown"}
TARGETS=${TARGETS:-"relay lmtp"}

make -s build/bin/recall-milter >/dev/null	# the lab runs without recalld
L=$(mktemp -d /tmp/bench-milter.XXXXXX)
chmod 755 "$L"
work=$L/bench
mkdir -p "$work"
cc -O2 -Wall -Wextra -Werror -Imilter -o "$work/trivial_milter" \
    bench/milter/trivial_milter.c -lmilter -lpthread

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	LAB_NO_RECALLD=1 tests/lab/lab.sh down "$L" >/dev/null 2>&1 || true
	rm -rf "$L"
}
trap cleanup EXIT

# One extra mailbox (u00001) for skeleton's LMTP runs.
LAB_NO_RECALLD=1 LAB_EXTRA_USERS=1 tests/lab/lab.sh up "$L" >"$work/lab-up.log" 2>&1 ||
    { cat "$work/lab-up.log"; exit 1; }
. "$L/env"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg() { (cd "$L/pg" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$L/pg/data" "$@" >/dev/null 2>&1); }

# A sink that only counts (the lab's sink writes every message to a file).
BSINK=$((SMTP_PORT + 10))
smtp-sink -u nobody -c "127.0.0.1:$BSINK" 256 >/dev/null 2>&1 &
pids+=($!)
echo "bench.test smtp:[127.0.0.1]:$BSINK" >> "$POSTFIX_CONF/transport"

"$work/trivial_milter" -p "unix:$L/run/trivial.sock" &
pids+=($!)
trivial_pid=$!
for _ in $(seq 50); do [ -S "$L/run/trivial.sock" ] && break; sleep 0.1; done
"$work/trivial_milter" -a -p "unix:$L/run/skeleton.sock" &
pids+=($!)
skeleton_pid=$!
for _ in $(seq 50); do [ -S "$L/run/skeleton.sock" ] && break; sleep 0.1; done

# second_milter NAME SED-ARGS...: start another recall-milter on the lab's
# configuration edited by SED-ARGS, with its own socket, spool and log;
# MPID gets its pid.
second_milter() {
	local name=$1
	shift
	sed "$@" -e "s|$L/run/milter.sock|$L/run/milter-$name.sock|" \
	    -e "s|$L/spool/recall\"|$L/spool/recall-$name\"|" \
	    "$RECALL_CONF" > "$L/etc/recall-$name.conf"
	env -u PGHOST -u PGDATABASE -u PGUSER \
	    "${LAB_BIN_DIR:-build/bin}/recall-milter" -f \
	    -c "$L/etc/recall-$name.conf" < /dev/null \
	    >> "$L/log/recall-milter-$name.log" 2>&1 &
	pids+=($!)
	MPID=$!
	for _ in $(seq 50); do [ -S "$L/run/milter-$name.sock" ] && break; sleep 0.1; done
}
noaddr_pid= sync0_pid=
case " $MODES " in
*" recall-noaddr "*)
	second_milter noaddr -e '/^ *recall_address *=/d'
	noaddr_pid=$MPID
	;;
esac
case " $MODES " in
*" recall-sync0 "*)
	second_milter sync0 -e 's|^\( *spool_dir = .*\)$|\1\n  spool_sync_delay = 0;|'
	sync0_pid=$MPID
	;;
esac

set_milter() {
	local spec=$1
	postconf -c "$POSTFIX_CONF" -e "smtpd_milters = $spec" \
	    "non_smtpd_milters = $spec"
	postfix -c "$POSTFIX_CONF" reload >/dev/null 2>&1
	sleep 1.5
}
milter_spec() {
	case $1 in
	none) echo "" ;;
	trivial) echo "unix:$L/run/trivial.sock" ;;
	skeleton) echo "unix:$L/run/skeleton.sock" ;;
	recall-noaddr) echo "unix:$L/run/milter-noaddr.sock" ;;
	recall-sync0) echo "unix:$L/run/milter-sync0.sock" ;;
	recall*) echo "unix:$L/run/milter.sock" ;;
	esac
}
queue_empty() {
	[ -z "$(find "$L/postfix/spool/incoming" "$L/postfix/spool/active" \
	    "$L/postfix/spool/deferred" "$L/postfix/spool/maildrop" \
	    -type f -print -quit 2>/dev/null)" ]
}
now() { date +%s.%N; }
# stats FILE: "p50 p99" of the numbers in FILE (seconds -> ms).
stats() {
	python3 -c '
import sys
v = sorted(float(x) for x in open(sys.argv[1]) if x.strip())
if not v: print("- -"); sys.exit()
p = lambda q: v[min(len(v) - 1, int(q / 100.0 * len(v) + 0.5))]
print("%.0f %.0f" % (p(50) * 1000, p(99) * 1000))' "$1"
}

# cpu_ticks PID...: utime+stime (all threads) of the PIDs, in clock ticks.
cpu_ticks() {
	local p t=0 s
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) }
		set -- $s
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}
# pg_pids: the lab's PostgreSQL processes (postmaster and its children).
pg_pids() {
	local pm
	pm=$(head -n 1 "$L/pg/data/postmaster.pid" 2>/dev/null) || return 0
	echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"
}
milter_pid() {
	case $1 in
	trivial) echo "$trivial_pid" ;;
	skeleton) echo "$skeleton_pid" ;;
	recall-noaddr) echo "$noaddr_pid" ;;
	recall-sync0) echo "$sync0_pid" ;;
	recall*) read -r p _ < "$L/run/recall-milter.pid"; echo "$p" ;;
	esac
}
# busy_ticks: machine-wide non-idle ticks (all CPUs).
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
xacts() {
	psql -X -At -h "$PGHOST" -U postgres -d recall -c "select xact_commit from pg_stat_database where datname = 'recall'" 2>/dev/null || echo 0
}

user_for() {
	case $1 in
	none) echo bob ;; trivial) echo carol ;; recall) echo dave ;;
	recall-noaddr) echo alice ;; skeleton) echo u00001 ;; *) echo erin ;;
	esac
}

# median V...: the median of the numbers (the lower middle one for an even
# count, so that it is one of the measurements).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# reversed WORD...: the words in reverse order.
reversed() { local out="" w; for w in "$@"; do out="$w $out"; done; echo "$out"; }
# pct P FILE: the P-th percentile of the numbers in FILE.
pct() {
	python3 -c '
import sys
v = sorted(float(x) for x in open(sys.argv[2]) if x.strip())
p = float(sys.argv[1])
print("%.2f" % v[min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))] if v else "-")' "$1" "$2"
}
r() { # r A B: A/B to 2 decimals, "-" when B is missing
	if [ -n "${2:-}" ] && [ "$(echo "$2 > 0" | bc -l)" = 1 ]; then
		printf '%.2f' "$(echo "$1 / $2" | bc -l)"
	else
		printf -- '-'
	fi
}

# run_one TARGET MODE ROUND: one throughput run and one latency run.
declare -A INJ E2E A50 A99
run_one() {
	local target=$1 mode=$2 round=$3 to k rows0 mlog moff off mp pgp sent tagged
	local c_m0 c_pg0 c_all0 c_m1 c_pg1 c_all1 x0 x1 t0 t1 t2 td got tk a50 a99
	set_milter "$(milter_spec "$mode")"
	rows0=$(psql -X -At -h "$PGHOST" -U postgres -d recall -c "select count(*) from messages" 2>/dev/null || echo 0)
	mlog=$L/log/recall-milter.log
	case $mode in recall-noaddr|recall-sync0) mlog=$L/log/recall-milter-${mode#recall-}.log ;; esac
	moff=$(stat -c %s "$mlog")
	[ "$mode" = recall-pgdown ] && pg stop -m fast -w
	if [ "$target" = relay ]; then to=x@bench.test; else to=$(user_for "$mode")@example.test; fi
	off=$(stat -c %s "$MAILLOG")
	mp=$(milter_pid "$mode")
	pgp=$(pg_pids)
	c_m0=$(cpu_ticks $mp) c_pg0=$(cpu_ticks $pgp) c_all0=$(busy_ticks)
	x0=$(xacts)
	t0=$(now)
	smtp-source -s "$S" -m "$N" -f alice@example.test -t "$to" \
	    "127.0.0.1:$SMTP_PORT" >/dev/null
	t1=$(now)
	while ! queue_empty; do sleep 0.05; done
	t2=$(now)
	c_m1=$(cpu_ticks $mp) c_pg1=$(cpu_ticks $pgp) c_all1=$(busy_ticks)
	x1=$(xacts)
	tail -c +$((off + 1)) "$MAILLOG" > "$work/log"
	sent=$(grep -c 'status=sent' "$work/log" || true)
	grep 'status=sent' "$work/log" |
	    sed -n 's/.*delays=\([0-9.]*\)\/.*/\1/p' > "$work/a"
	read -r a50 a99 < <(stats "$work/a")
	k=$target.$mode.$round
	INJ[$k]=$(echo "$N / ($t1 - $t0)" | bc -l)
	E2E[$k]=$(echo "$N / ($t2 - $t0)" | bc -l)
	A50[$k]=$a50 A99[$k]=$a99
	[ "$sent" -ge "$N" ] || echo "# WARNING $k: only $sent of $N delivered"
	tagged=""
	case $mode in recall*) tagged=" tagged=$(tail -c +$((moff + 1)) "$mlog" | grep -c 'tagged recall_id' || true)" ;; esac
	# CPU (ms per message) of the milter, of PostgreSQL, and of the whole
	# machine (Postfix, smtp-source, sink, ... and whatever else runs),
	# and the database transactions committed meanwhile.
	tk=$(getconf CLK_TCK)
	printf '# %-6s round %s %-13s inj %4.0f e2e %4.0f msg/s  cpu ms/msg: milter %.2f pg %.2f machine %.2f  pg xacts %s  delivered %s%s\n' \
	    "$target" "$round" "$mode" "${INJ[$k]}" "${E2E[$k]}" \
	    "$(echo "($c_m1 - $c_m0) * 1000 / $tk / $N" | bc -l)" \
	    "$(echo "($c_pg1 - $c_pg0) * 1000 / $tk / $N" | bc -l)" \
	    "$(echo "($c_all1 - $c_all0) * 1000 / $tk / $N" | bc -l)" \
	    "$((x1 - x0))" "$sent" "$tagged"
	if [ "$LAT" -gt 0 ]; then
		python3 bench/milter/smtplat.py 127.0.0.1 "$SMTP_PORT" "$LAT" \
		    alice@example.test x@bench.test "$work/lat.$mode" >/dev/null
		while ! queue_empty; do sleep 0.05; done
	fi
	if [ "$mode" = recall-pgdown ]; then
		pg start -w -t 30
		td=$(now)
		got=0
		for _ in $(seq 600); do
			got=$(psql -X -At -h "$PGHOST" -U postgres -d recall -c "select count(*) from messages" 2>/dev/null || echo 0)
			[ "$got" -ge $((rows0 + N + LAT)) ] && break
			sleep 0.1
		done
		echo "# $target round $round recall-pgdown: PostgreSQL back; $((got - rows0)) of $((N + LAT)) spooled records in the database $(printf '%.1f' "$(echo "$(now) - $td" | bc -l)") s later"
	fi
}

echo "# bench/milter: N=$N S=$S LAT=$LAT ROUNDS=$ROUNDS, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), Postfix $(postconf -dh mail_version), load $(cut -d' ' -f1-3 /proc/loadavg)"
for target in $TARGETS; do
	for round in $(seq "$ROUNDS"); do
		order=$MODES
		[ $((round % 2)) -eq 0 ] && order=$(reversed $MODES)
		echo "# $target round $round: load $(cut -d' ' -f1-3 /proc/loadavg)"
		for mode in $order; do
			run_one "$target" "$mode" "$round"
		done
	done
done

# ratio_table BASE: per target and mode, the inj ratio to mode BASE of
# every round, their median and range (nothing when BASE did not run).
ratio_table() {
	local base=$1 target mode round line v vals
	case " $MODES " in *" $base "*) ;; *) return 0 ;; esac
	echo
	echo "## inj ratio to $base, per round (same round = same background load)"
	printf '%-6s %-14s %-40s %6s %11s\n' target mode "rounds" median "min..max"
	for target in $TARGETS; do
		for mode in $MODES; do
			[ -n "${INJ[$target.$base.1]:-}" ] || continue
			line="" vals=()
			for round in $(seq "$ROUNDS"); do
				v=$(r "${INJ[$target.$mode.$round]}" "${INJ[$target.$base.$round]}")
				line="$line $v"
				vals+=("$v")
			done
			printf '%-6s %-14s %-40s %6s %5s..%-5s\n' "$target" "$mode" "$line" \
			    "$(median "${vals[@]}")" "$(printf '%s\n' "${vals[@]}" | sort -g | head -n 1)" \
			    "$(printf '%s\n' "${vals[@]}" | sort -g | tail -n 1)"
		done
	done
}
ratio_table trivial
ratio_table skeleton

echo
echo "## throughput (msg/s, median of $ROUNDS rounds) and Postfix delays=a (ms, median)"
printf '%-6s %-14s %7s %7s %12s\n' target mode inj e2e "a p50/p99"
for target in $TARGETS; do
	for mode in $MODES; do
		declare -A MED=()
		for v in INJ E2E A50 A99; do
			declare -n arr=$v
			vals=()
			for round in $(seq "$ROUNDS"); do vals+=("${arr[$target.$mode.$round]}"); done
			MED[$v]=$(median "${vals[@]}")
			unset -n arr
		done
		printf '%-6s %-14s %7.0f %7.0f %6s/%s\n' "$target" "$mode" \
		    "${MED[INJ]}" "${MED[E2E]}" "${MED[A50]}" "${MED[A99]}"
		unset MED
	done
done

if [ "$LAT" -gt 0 ]; then
	echo
	echo "## latency per message, one SMTP session (ms; $LAT messages per mode, target and round, pooled)"
	declare -A P99
	for mode in $MODES; do P99[$mode]=$(pct 99 "$work/lat.$mode"); done
	# p99_over MODE BASE: MODE's p99 minus BASE's ("-" when BASE did not run).
	p99_over() { [ -n "${P99[$2]:-}" ] && printf '%.2f' "$(echo "${P99[$1]} - ${P99[$2]}" | bc -l)" || echo -; }
	if [ -n "${P99[skeleton]:-}" ]; then
		printf '%-14s %7s %7s %8s %16s %19s %20s\n' mode samples p50 p99 "p99 - none p99" "p99 - trivial p99" "p99 - skeleton p99"
	else
		printf '%-14s %7s %7s %8s %16s %19s\n' mode samples p50 p99 "p99 - none p99" "p99 - trivial p99"
	fi
	for mode in $MODES; do
		printf '%-14s %7s %7s %8s %16s %19s' "$mode" \
		    "$(wc -l < "$work/lat.$mode")" "$(pct 50 "$work/lat.$mode")" "${P99[$mode]}" \
		    "$(p99_over "$mode" none)" "$(p99_over "$mode" trivial)"
		[ -z "${P99[skeleton]:-}" ] || printf ' %20s' "$(p99_over "$mode" skeleton)"
		echo
	done
fi
while ! queue_empty; do sleep 0.1; done
echo
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# rerun: N=$N S=$S LAT=$LAT ROUNDS=$ROUNDS MODES=\"$MODES\" TARGETS=\"$TARGETS\" bash bench/milter/run.sh"

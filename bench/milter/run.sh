#!/usr/bin/env bash
# bench/milter/run.sh - what the milter costs Postfix (issue #3).
#
# One private lab (tests/lab/lab.sh, no recalld), real Postfix, and for
# each target
#   relay  Postfix -> smtp(8) -> an smtp-sink on loopback (no dump)
#   lmtp   Postfix -> Dovecot LMTP -> Maildir (a fresh user per mode)
# each mode
#   none            smtpd_milters empty
#   trivial         bench/milter/trivial_milter.c (adds one header at EOM),
#                   unix socket
#   recall          recall-milter: tags, spools, records into PostgreSQL
#   recall-pgdown   recall-milter with PostgreSQL stopped (spool only)
# injects N messages (default 2000) with smtp-source -s S (default 10) from
# 127.0.0.1 (= inside: every message is tagged and recorded), and prints
#   inj msg/s   N / smtp-source wall time
#   e2e msg/s   N / time until the queue is empty (all delivered)
# with the ratios to "none" and to "trivial", and the p50/p99 of Postfix's
# delays=a (before the queue manager: smtpd, cleanup and the milter).
# Then per mode LAT (default 200) messages one after the other over one
# SMTP session (bench/milter/smtplat.py): p50/p99 latency per message and
# the p99 added over "none" and over "trivial".
#
# and per run the CPU time per message of the milter, of PostgreSQL and of
# the whole machine, and the database transactions committed meanwhile.
# REPS (default 1) repeats everything REPS times, in turn (so every mode
# sees the same background load), prints the inj ratio to trivial of each
# repetition and tables of the medians.  MODES and TARGETS pick a subset.
#
#   bash bench/milter/run.sh            # N=2000 S=10 LAT=200, ~5 minutes
#   N=1000 REPS=3 TARGETS=relay MODES="trivial recall" bash bench/milter/run.sh
#
# Root only (the lab is).  Output lines start with "# " except the tables.
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
N=${N:-2000}
S=${S:-10}
LAT=${LAT:-200}
REPS=${REPS:-1}
MODES=${MODES:-"none trivial recall recall-pgdown"}
TARGETS=${TARGETS:-"relay lmtp"}

make -s build/bin/recall-milter >/dev/null	# the lab runs without recalld
L=$(mktemp -d /tmp/bench-milter.XXXXXX)
chmod 755 "$L"
work=$L/bench
mkdir -p "$work"
cc -O2 -Wall -Wextra -Werror -o "$work/trivial_milter" \
    bench/milter/trivial_milter.c -lmilter -lpthread

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	LAB_NO_RECALLD=1 tests/lab/lab.sh down "$L" >/dev/null 2>&1 || true
	rm -rf "$L"
}
trap cleanup EXIT

LAB_NO_RECALLD=1 tests/lab/lab.sh up "$L" >"$work/lab-up.log" 2>&1 ||
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
	none) echo bob ;; trivial) echo carol ;; recall) echo dave ;; *) echo erin ;;
	esac
}

# median V...: the median of the numbers (the lower middle one for an even
# count, so that it is one of the measurements).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

declare -A INJ E2E A50 A99 P50 P99 MEAN
echo "# bench/milter: N=$N S=$S LAT=$LAT REPS=$REPS, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), Postfix $(postconf -dh mail_version), load $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq "$REPS"); do
for target in $TARGETS; do
	for mode in $MODES; do
		set_milter "$(milter_spec "$mode")"
		rows0=$(psql -X -At -h "$PGHOST" -U postgres -d recall -c "select count(*) from messages" 2>/dev/null || echo 0)
		moff=$(stat -c %s "$L/log/recall-milter.log")
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
		tail -c +$((off + 1)) "$MAILLOG" > "$work/log.$target.$mode"
		sent=$(grep -c 'status=sent' "$work/log.$target.$mode" || true)
		grep 'status=sent' "$work/log.$target.$mode" |
		    sed -n 's/.*delays=\([0-9.]*\)\/.*/\1/p' > "$work/a.$target.$mode"
		read -r a50 a99 < <(stats "$work/a.$target.$mode")
		k=$target.$mode.$rep
		INJ[$k]=$(echo "$N / ($t1 - $t0)" | bc -l)
		E2E[$k]=$(echo "$N / ($t2 - $t0)" | bc -l)
		A50[$k]=$a50 A99[$k]=$a99
		[ "$sent" -ge "$N" ] || echo "# WARNING $k: only $sent of $N delivered"
		tagged=""
		case $mode in recall*) tagged=" tagged=$(tail -c +$((moff + 1)) "$L/log/recall-milter.log" | grep -c 'tagged recall_id' || true)" ;; esac
		printf '# %-6s %-13s rep %s inj %6.0f msg/s  e2e %6.0f msg/s  delivered %s%s\n' \
		    "$target" "$mode" "$rep" "${INJ[$k]}" "${E2E[$k]}" "$sent" "$tagged"
		# CPU (ms per message) of the milter, of PostgreSQL, and of the
		# whole machine (Postfix, smtp-source, sink, ... included), and
		# the database transactions committed meanwhile.
		tk=$(getconf CLK_TCK)
		printf '#        cpu ms/msg: milter %.2f  postgres %.2f  machine %.2f;  pg xacts %s\n' \
		    "$(echo "($c_m1 - $c_m0) * 1000 / $tk / $N" | bc -l)" \
		    "$(echo "($c_pg1 - $c_pg0) * 1000 / $tk / $N" | bc -l)" \
		    "$(echo "($c_all1 - $c_all0) * 1000 / $tk / $N" | bc -l)" \
		    "$((x1 - x0))"
		if [ "$mode" = recall-pgdown ]; then
			pg start -w -t 30
			td=$(now)
			got=0
			for _ in $(seq 600); do
				got=$(psql -X -At -h "$PGHOST" -U postgres -d recall -c "select count(*) from messages" 2>/dev/null || echo 0)
				[ "$got" -ge $((rows0 + N)) ] && break
				sleep 0.1
			done
			echo "# $target recall-pgdown: PostgreSQL back; $((got - rows0)) of $N spooled records in the database $(printf '%.1f' "$(echo "$(now) - $td" | bc -l)") s later"
		fi
	done
done
done

r() { # r A B: A/B to 2 decimals, "-" when B is missing
	if [ -n "${2:-}" ] && [ "$(echo "$2 > 0" | bc -l)" = 1 ]; then
		printf '%.2f' "$(echo "$1 / $2" | bc -l)"
	else
		printf -- '-'
	fi
}
# The ratio to trivial per repetition (trivial and the mode ran in the same
# repetition, minutes apart at most), then the medians over the repetitions.
if [ "$REPS" -gt 1 ]; then
	echo
	echo "## inj ratio to trivial per repetition"
	for target in $TARGETS; do
		for mode in $MODES; do
			[ -n "${INJ[$target.trivial.1]:-}" ] || continue
			line=""
			for rep in $(seq "$REPS"); do
				line="$line $(r "${INJ[$target.$mode.$rep]}" "${INJ[$target.trivial.$rep]}")"
			done
			printf '%-6s %-14s%s\n' "$target" "$mode" "$line"
		done
	done
fi
for target in $TARGETS; do
	for mode in $MODES; do
		k=$target.$mode
		for v in INJ E2E A50 A99; do
			declare -n arr=$v
			vals=()
			for rep in $(seq "$REPS"); do vals+=("${arr[$k.$rep]}"); done
			arr[$k]=$(median "${vals[@]}")
			unset -n arr
		done
	done
done
echo
echo "## throughput (msgs/s, median of $REPS; ratios inj/e2e)"
printf '%-6s %-14s %7s %7s %11s %11s %9s\n' target mode inj e2e "vs none" "vs trivial" "a p50/p99 ms"
for target in $TARGETS; do
	for mode in $MODES; do
		k=$target.$mode
		printf '%-6s %-14s %7.0f %7.0f %5s/%-5s %5s/%-5s %5s/%s\n' "$target" "$mode" \
		    "${INJ[$k]}" "${E2E[$k]}" \
		    "$(r "${INJ[$k]}" "${INJ[$target.none]:-}")" "$(r "${E2E[$k]}" "${E2E[$target.none]:-}")" \
		    "$(r "${INJ[$k]}" "${INJ[$target.trivial]:-}")" "$(r "${E2E[$k]}" "${E2E[$target.trivial]:-}")" \
		    "${A50[$k]}" "${A99[$k]}"
	done
done

echo
echo "## latency per message, one SMTP session, $LAT messages (ms, median of $REPS)"
for rep in $(seq "$REPS"); do
	for mode in $MODES; do
		set_milter "$(milter_spec "$mode")"
		[ "$mode" = recall-pgdown ] && pg stop -m fast -w
		read -r p50 p99 mean < <(python3 bench/milter/smtplat.py 127.0.0.1 "$SMTP_PORT" "$LAT" alice@example.test x@bench.test)
		[ "$mode" = recall-pgdown ] && pg start -w -t 30
		P50[$mode.$rep]=$p50 P99[$mode.$rep]=$p99 MEAN[$mode.$rep]=$mean
		[ "$REPS" -gt 1 ] && echo "# latency $mode rep $rep: p50 $p50 p99 $p99 mean $mean"
	done
done
printf '%-14s %7s %7s %7s %16s %19s\n' mode p50 p99 mean "p99 - none p99" "p99 - trivial p99"
for mode in $MODES; do
	for v in P50 P99 MEAN; do
		declare -n arr=$v
		vals=()
		for rep in $(seq "$REPS"); do vals+=("${arr[$mode.$rep]}"); done
		arr[$mode]=$(median "${vals[@]}")
		unset -n arr
	done
	p50=${P50[$mode]} p99=${P99[$mode]} mean=${MEAN[$mode]}
	printf '%-14s %7s %7s %7s %16s %19s\n' "$mode" "$p50" "$p99" "$mean" \
	    "$(printf '%.2f' "$(echo "$p99 - ${P99[none]:-$p99}" | bc -l)")" \
	    "$( [ -n "${P99[trivial]:-}" ] && printf '%.2f' "$(echo "$p99 - ${P99[trivial]}" | bc -l)" || echo -)"
done
while ! queue_empty; do sleep 0.1; done
echo
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# rerun: N=$N S=$S LAT=$LAT REPS=$REPS MODES=\"$MODES\" TARGETS=\"$TARGETS\" bash bench/milter/run.sh"

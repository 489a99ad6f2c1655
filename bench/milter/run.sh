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
#   bash bench/milter/run.sh            # N=2000 S=10 LAT=200, ~2-3 minutes
#
# Root only (the lab is).  Output lines start with "# " except the tables.
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
N=${N:-2000}
S=${S:-10}
LAT=${LAT:-200}
MODES=${MODES:-"none trivial recall recall-pgdown"}
TARGETS=${TARGETS:-"relay lmtp"}

make -s all >/dev/null
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

user_for() {
	case $1 in
	none) echo bob ;; trivial) echo carol ;; recall) echo dave ;; *) echo erin ;;
	esac
}

declare -A INJ E2E A50 A99 P50 P99
echo "# bench/milter: N=$N S=$S LAT=$LAT, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), Postfix $(postconf -dh mail_version)"
for target in $TARGETS; do
	for mode in $MODES; do
		set_milter "$(milter_spec "$mode")"
		rows0=$(psql -X -At -h "$PGHOST" -U postgres -d recall -c "select count(*) from messages" 2>/dev/null || echo 0)
		moff=$(stat -c %s "$L/log/recall-milter.log")
		[ "$mode" = recall-pgdown ] && pg stop -m fast -w
		if [ "$target" = relay ]; then to=x@bench.test; else to=$(user_for "$mode")@example.test; fi
		off=$(stat -c %s "$MAILLOG")
		t0=$(now)
		smtp-source -s "$S" -m "$N" -f alice@example.test -t "$to" \
		    "127.0.0.1:$SMTP_PORT" >/dev/null
		t1=$(now)
		while ! queue_empty; do sleep 0.05; done
		t2=$(now)
		tail -c +$((off + 1)) "$MAILLOG" > "$work/log.$target.$mode"
		sent=$(grep -c 'status=sent' "$work/log.$target.$mode" || true)
		grep 'status=sent' "$work/log.$target.$mode" |
		    sed -n 's/.*delays=\([0-9.]*\)\/.*/\1/p' > "$work/a.$target.$mode"
		read -r a50 a99 < <(stats "$work/a.$target.$mode")
		k=$target.$mode
		INJ[$k]=$(echo "$N / ($t1 - $t0)" | bc -l)
		E2E[$k]=$(echo "$N / ($t2 - $t0)" | bc -l)
		A50[$k]=$a50 A99[$k]=$a99
		[ "$sent" -ge "$N" ] || echo "# WARNING $k: only $sent of $N delivered"
		tagged=""
		case $mode in recall*) tagged=" tagged=$(tail -c +$((moff + 1)) "$L/log/recall-milter.log" | grep -c 'tagged recall_id' || true)" ;; esac
		printf '# %-6s %-13s inj %6.0f msg/s  e2e %6.0f msg/s  delivered %s%s\n' \
		    "$target" "$mode" "${INJ[$k]}" "${E2E[$k]}" "$sent" "$tagged"
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

r() { # r A B: A/B to 2 decimals, "-" when B is missing
	if [ -n "${2:-}" ] && [ "$(echo "$2 > 0" | bc -l)" = 1 ]; then
		printf '%.2f' "$(echo "$1 / $2" | bc -l)"
	else
		printf -- '-'
	fi
}
echo
echo "## throughput (msgs/s; ratios inj/e2e)"
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
echo "## latency per message, one SMTP session, $LAT messages (ms)"
printf '%-14s %7s %7s %7s %16s %19s\n' mode p50 p99 mean "p99 - none p99" "p99 - trivial p99"
for mode in $MODES; do
	set_milter "$(milter_spec "$mode")"
	[ "$mode" = recall-pgdown ] && pg stop -m fast -w
	read -r p50 p99 mean < <(python3 bench/milter/smtplat.py 127.0.0.1 "$SMTP_PORT" "$LAT" alice@example.test x@bench.test)
	[ "$mode" = recall-pgdown ] && pg start -w -t 30
	P50[$mode]=$p50 P99[$mode]=$p99
	printf '%-14s %7s %7s %7s %16s %19s\n' "$mode" "$p50" "$p99" "$mean" \
	    "$(printf '%.2f' "$(echo "$p99 - ${P99[none]:-$p99}" | bc -l)")" \
	    "$( [ -n "${P99[trivial]:-}" ] && printf '%.2f' "$(echo "$p99 - ${P99[trivial]}" | bc -l)" || echo -)"
done
while ! queue_empty; do sleep 0.1; done
echo
echo "# rerun: bash bench/milter/run.sh   (N=$N S=$S LAT=$LAT MODES=\"$MODES\" TARGETS=\"$TARGETS\")"

#!/usr/bin/env bash
# bench/ledger/run.sh - log ingestion speed of the route ledger's parsers.
#
# For each source (Postfix log, Dovecot log) it generates a realistic file
# of LINES lines (default 1,000,000; bench/ledger/genlog.py), then times
#   wc -l FILE                  (the floor: reading the bytes, counting \n)
#   ledgertool parse KIND FILE  (pflog_parse / dovelog_parse of every line,
#                                one core, no database)
# and prints lines/s and the ratio to wc -l.  The target (issue #4) is at
# least 200,000 lines/s per source.
#
# With RECALL_CONF set (a lab: tests/lab/lab.sh up DIR; . DIR/env) it also
# ingests generated Postfix and Dovecot logs through follow + ledger into
# PostgreSQL (LEDGER_DB_LINES lines each, default 100,000), appended to the
# lab's events.postfix_log and events.dovecot_log, and prints those rates:
# lines per second of wall time (PostgreSQL's work included: on a small
# machine it is the bound), and lines per CPU second of the following
# process itself, i.e. what one core of recalld ingests.
set -eu
cd "$(dirname "$0")/../.."
LINES=${LINES:-1000000}
BUILD=${BUILD:-build}
work=$(mktemp -d /tmp/bench-ledger.XXXXXX)
trap 'rm -rf "$work"' EXIT

make -s "$BUILD/lib/librecall.a" >/dev/null
cc -std=c17 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib -Irecalld \
    $(pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql) \
    -o "$work/ledgertool" bench/ledger/ledgertool.c recalld/pflog.c \
    recalld/dovelog.c recalld/logtime.c recalld/follow.c recalld/ledger.c \
    "$BUILD/lib/librecall.a" -ljansson -lconfig -lpq -lcrypto -lpthread

secs() { # secs CMD...: wall seconds of CMD, output discarded
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

echo "# bench/ledger: $LINES lines per source, one core ($(nproc) online)"
for src in postfix dovecot; do
	f=$work/$src.log
	python3 bench/ledger/genlog.py "$src" "$LINES" "$f"
	kind=pflog
	[ "$src" = dovecot ] && kind=dovelog
	cat "$f" >/dev/null	# warm the page cache for both
	tw=$(secs wc -l "$f")
	out=$("$work/ledgertool" parse "$kind" "$f")
	tp=$(echo "$out" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
	rate=$(echo "$LINES / $tp" | bc)
	wrate=$(echo "$LINES / $tw" | bc)
	printf '%-8s %8d bytes/line  parse %9d lines/s  wc -l %10d lines/s  ratio %.3f  (%s)\n' \
	    "$src" $(( $(stat -c %s "$f") / LINES )) "$rate" "$wrate" \
	    "$(echo "$tw / $tp" | bc -l)" "$out"
	if [ "$rate" -lt 200000 ]; then
		echo "# $src: below the 200,000 lines/s target"
	fi
done

if [ -n "${RECALL_CONF:-}" ]; then
	n=${LEDGER_DB_LINES:-100000}
	echo "# database ingestion (follow + ledger into PostgreSQL), $n lines"
	echo "# (needs a lab whose logs we may append to)"
	# The lab's own recalld follows the same logs: stop it meanwhile, so
	# that the tool reads every line itself; started again at the end.
	lab=${LAB:-}
	if [ -n "$lab" ] && [ -s "$lab/run/recalld.pid" ]; then
		read -r rpid _ < "$lab/run/recalld.pid"
		kill "$rpid" 2>/dev/null
		while kill -0 "$rpid" 2>/dev/null; do sleep 0.1; done
		trap 'tests/lab/lab.sh restart "$lab" recalld >/dev/null; rm -rf "$work"' EXIT
	fi
	"$work/ledgertool" ingest "$RECALL_CONF" >/dev/null
	for src in postfix dovecot; do
		log=$(sed -n "s/^ *${src}_log = \"\\(.*\\)\";.*/\\1/p" "$RECALL_CONF")
		python3 bench/ledger/genlog.py "$src" "$n" "$work/$src.log"
		cat "$work/$src.log" >> "$log"
		out=$("$work/ledgertool" ingest "$RECALL_CONF")
		t=$(echo "$out" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
		c=$(echo "$out" | sed -n 's/.*(cpu \([0-9.]*\) s).*/\1/p')
		got=$(echo "$out" | sed -n 's/^ingested \([0-9]*\) lines.*/\1/p')
		printf '%-8s into PostgreSQL: %s = %.0f lines/s; %.0f lines a CPU second of the follower\n' \
		    "$src" "$out" "$(echo "$got / $t" | bc -l)" \
		    "$(echo "$got / $c" | bc -l)"
		[ "$got" = "$n" ] || echo "# $src: read $got of the $n lines appended"
	done
fi

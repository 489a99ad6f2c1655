#!/usr/bin/env bash
# bench/run.sh - run every benchmark (bench/*/run.sh) in turn.
cd "$(dirname "$0")/.." || exit 1
rc=0
for b in bench/*/run.sh; do
	[ -x "$b" ] || [ -f "$b" ] || continue
	echo "# ==== $b"
	bash "$b" || { echo "# $b failed"; rc=1; }
done
exit $rc

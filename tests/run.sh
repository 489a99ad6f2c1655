#!/usr/bin/env bash
# Run every test suite and end with one line "N passed, N failed".
#
# Each suite prints "ok - NAME" / "not ok - NAME" per case (see
# docs/design.md).  A suite that exits non-zero without a "not ok" line (a
# crash, a timeout) counts as one failure, so nothing fails silently.
#
#   tests/run.sh                 everything
#   tests/run.sh unit|fuzz|milter|integration|sanitized ...   only those groups
#   FUZZ_SECONDS=N               time per fuzz target (default 10)
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
groups=${*:-unit fuzz milter integration sanitized}
passed=0
failed=0
failed_names=()

# run_suite NAME TIMEOUT CMD...: run one suite, echo its output, count.
run_suite() {
	local name=$1 limit=$2 out rc p f
	shift 2
	echo "# --- $name"
	out=$(mktemp)
	timeout --kill-after=10 "$limit" "$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -c '^ok - ' "$out")
	f=$(grep -c '^not ok - ' "$out")
	grep '^not ok - ' "$out" | sed "s|^|$name: |" >>"$fail_list"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		echo "$name: exited with status $rc" >>"$fail_list"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	rm -f "$out"
}

fail_list=$(mktemp)
trap 'rm -f "$fail_list"' EXIT
start=$(date +%s)

for g in $groups; do
	case $g in
	unit)
		for t in "$BUILD"/tests/test_*; do
			[ -x "$t" ] && run_suite "unit/${t##*/}" 120 "$t"
		done
		for t in "$BUILD"/asan/tests/test_*; do
			[ -x "$t" ] && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			    run_suite "asan/${t##*/}" 300 "$t"
		done
		;;
	fuzz)
		for t in "$BUILD"/fuzz/fuzz_*; do
			[ -x "$t" ] || continue
			n=${t##*/}
			corpus=tests/fuzz/corpus/${n#fuzz_}
			work=$(mktemp -d)
			[ -d "$corpus" ] && cp -R "$corpus"/. "$work"/ 2>/dev/null
			run_suite "fuzz/$n" $((FUZZ_SECONDS + 60)) bash -c \
			    '"$1" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 \
			        -print_final_stats=1 "$3" >"$3.log" 2>&1; rc=$?;
			     tail -n 5 "$3.log" | sed "s/^/# /";
			     if [ $rc -eq 0 ]; then echo "ok - $4 ran $2 s without a crash";
			     else grep -E "ERROR|SUMMARY" "$3.log" | head -n 5 | sed "s/^/# /";
			          echo "not ok - $4 found a crash (exit $rc)"; fi' \
			    _ "$t" "$FUZZ_SECONDS" "$work" "$n"
			rm -rf "$work"
		done
		;;
	milter)
		[ -x tests/milter/run.sh ] && run_suite "milter" 600 tests/milter/run.sh
		;;
	integration)
		for t in tests/integration/t_*.sh; do
			[ -f "$t" ] && run_suite "integration/${t##*/}" 600 bash "$t"
		done
		;;
	sanitized)
		# The daemons built with ASan and UBSan, in the integration
		# tests that reach most of their code; the lab fails the run
		# on any sanitizer report in their logs (LAB_SANITIZED).
		for t in t_recall_race t_recall_many t_routes t_milter_dbdown \
		    t_concurrent; do
			[ -f "tests/integration/$t.sh" ] || continue
			run_suite "sanitized/$t.sh" 900 env \
			    LAB_BIN_DIR="$(pwd)/$BUILD/asan/bin" LAB_SANITIZED=1 \
			    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
			    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			    bash "tests/integration/$t.sh"
		done
		;;
	*)
		echo "tests/run.sh: unknown group $g" >&2
		exit 64
		;;
	esac
done

echo "# --- summary ($(( $(date +%s) - start )) s)"
if [ -s "$fail_list" ]; then
	echo "# failures:"
	sed 's/^/#   /' "$fail_list"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

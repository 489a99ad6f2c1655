#!/bin/bash
# tests/milter/run.sh - drive build/bin/recall-milter over the milter
# protocol with miltertest(8), one Lua script per case.
#
# Builds a throw-away configuration in a temp dir (key file mode 600, a
# spool, on_db_error = spool, a conninfo to a socket that does not exist:
# no PostgreSQL is needed), starts the milter in the foreground on a unix
# socket, runs every tests/milter/*.lua but common.lua, prints "ok - NAME"
# or "not ok - NAME" per script, checks the spooled records, and stops the
# milter.  Exit status 1 if anything failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
milter=${MILTER:-$repo/build/bin/recall-milter}
fails=0

if ! command -v miltertest >/dev/null; then
	echo "not ok - miltertest: not installed (apt-get install miltertest)"
	exit 1
fi
if [ ! -x "$milter" ]; then
	echo "not ok - miltertest: $milter not built"
	exit 1
fi

t=$(mktemp -d /tmp/recall-mt.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$t/tag.key"
echo >> "$t/tag.key"
chmod 600 "$t/tag.key"
cat > "$t/recall.conf" <<CONF
database = { conninfo = "host=$t/no-such-dir dbname=recall connect_timeout=1"; };
local_domains = [ "example.org" ];
mailing_lists = [ "lists.example.org" ];
tag = { key_file = "$t/tag.key"; };
milter = {
  socket = "unix:$t/milter.sock";
  internal_networks = [ "10.0.0.0/8" ];
  spool_dir = "$t/spool";
  on_db_error = "spool";
  recall_address = "recall@example.org";
};
CONF

"$milter" -d -c "$t/recall.conf" > "$t/milter.log" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -S "$t/milter.sock" ] && break; sleep 0.1; done
if [ ! -S "$t/milter.sock" ]; then
	echo "not ok - miltertest: milter did not start"
	sed 's/^/# /' "$t/milter.log"
	exit 1
fi

for script in "$here"/*.lua; do
	name=$(basename "$script" .lua)
	[ "$name" = common ] && continue
	if out=$(miltertest -D sock="unix:$t/milter.sock" -D dir="$here" \
	    -s "$script" 2>&1); then
		echo "ok - miltertest: $name"
	else
		echo "not ok - miltertest: $name"
		printf '%s\n' "$out" | sed 's/^/# /'
		fails=$((fails + 1))
	fi
done

# What reached the spool (the database is down on purpose).
spooled() { cat "$t"/spool/spool.* 2>/dev/null; }
check() {	# NAME, then a command that must succeed
	local name=$1; shift
	if "$@"; then echo "ok - miltertest: $name"
	else echo "not ok - miltertest: $name"; fails=$((fails + 1)); fi
}
has() { spooled | grep -F -- "$1" | grep -qF -- "$2"; }
count() { spooled | grep -cF -- "$1"; }
check "spool: brackets normalised (sender)" has '"queue_id":"BRK1"' '"sender":"Alice@example.org"'
check "spool: brackets normalised (rcpt with)" has '"queue_id":"BRK1"' '["bob@example.org","local"]'
check "spool: brackets normalised (rcpt without)" has '"queue_id":"BRK1"' '["carol@example.org","local"]'
check "spool: external recipient classed" has '"queue_id":"BRK1"' '["dave@ext.test","external"]'
check "spool: re-entry recorded as a route event" has '"type":"reentry"' '"queue_id":"RE2"'
check "spool: outside mail not recorded" test "$(count '"queue_id":"OUT1"')" = 0
check "spool: missing {i} recorded with null queue id" has '"queue_id":null' '"type":"message"'
check "spool: 1000 recipients recorded" test "$(spooled | grep -F '"queue_id":"MANY1"' | grep -o '@ext.test"' | wc -l)" = 500
check "spool: local submission origin" has '"queue_id":"LOCAL1"' '"origin":"local"'
check "spool: recall request by subject" has '"type":"recall_request"' '"ref":"<orig.1@host.example.org>","requested_by":"alice@example.org"'
check "spool: recall request by attachment" has '"queue_id":"REQ2"' '"ref":"<att.2@host.example.org>"'
check "spool: no request without a Message-ID" test "$(count '"queue_id":"REQ3"')" = 0
check "spool: no request from outside" test "$(count '"queue_id":"REQ4"')" = 0
check "spool: mixed request recorded and the rest recorded without it" \
	test "$(spooled | grep -F '"queue_id":"REQ5"' | grep -c 'recall@example.org')" = 0 -a "$(count '"queue_id":"REQ5"')" = 2
check "spool: outside, mixed: no request, nothing recorded" \
	test "$(count '"queue_id":"REQ8"')" = 0
check "spool: inside network without auth, mixed: the message recorded without the recall address, no request" \
	test "$(spooled | grep -F '"queue_id":"REQ9"' | grep -c '"type":"message"')" = 1 -a "$(count '"queue_id":"REQ9"')" = 1 -a "$(spooled | grep -F '"queue_id":"REQ9"' | grep -c 'recall@example.org')" = 0
check "log: request queued line" grep -q 'REQ1: recall request from alice@example.org: <orig.1@host.example.org> queued' "$t/milter.log"
check "log: every forged tag removal logged with the queue id" \
	test "$(grep -c 'OUT1: removed header X-Recall-ID' "$t/milter.log")" = 3

kill "$pid"; wait "$pid" 2>/dev/null; pid=
if [ "$fails" -gt 0 ]; then
	echo "# milter log:"; sed 's/^/# /' "$t/milter.log" | tail -40
fi
[ "$fails" -eq 0 ]

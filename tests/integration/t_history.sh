#!/bin/bash
# t_history.sh - recallctl history: filters (sender, recipient, since,
# until, outcome), the three formats, and who sees what: an admin sees
# every row, a user only requests about mail they sent.
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_hist_out
ERR=$LAB/log/t_hist_err
# A unix user that speaks for rchist@example.test.
id -u rchist > /dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin rchist 2>/dev/null
id -u rchist > /dev/null 2>&1 || { not_ok "test user rchist"; exit 1; }

# alice -> bob, carol (carol reads); rchist -> dave; both recalled.
send_mail alice@example.test bob@example.test carol@example.test \
    --auth alice --subject "hist 1" || not_ok "submit 1"
M1=$MSGID
send_mail rchist@example.test dave@example.test --auth rchist \
    --subject 'hist, "2"' || not_ok "submit 2"
M2=$MSGID
wait_queue_empty 20
wait_delivered bob 1
wait_delivered carol 1
wait_delivered dave 1
doveadm -c "$DOVECOT_CONF" flags add -u carol '\Seen' mailbox INBOX all 2>/dev/null
ctl recall "$M1"
ctl_as rchist recall "$M2"
check "rchist recalls own mail (exit 0)" test "$RC" = 0

# ---- formats --------------------------------------------------------------------

ctl history --format json
check "json: an array of 3 rows" test "$(jq length "$OUT")" = 3
check "json: each row has the view's columns" \
    test "$(jq -r '[.[] | keys_unsorted | join(",")] | unique | .[]' "$OUT")" = \
    "request_id,requested_at,requested_by,message_id,recall_id,sender,recipient,copy_addr,outcome,reason,decided_at,dry_run,request_status"
check "json: matches recall_history" \
    test "$(jq -r '[.[] | "\(.request_id):\(.recipient):\(.outcome)"] | join(" ")' "$OUT")" = \
    "$(psql_lab "select string_agg(request_id || ':' || recipient || ':' || outcome, ' ' order by requested_at, request_id, recipient) from recall_history")"
ctl history --format csv
check "csv: header line" \
    test "$(head -n 1 "$OUT" | tr -d '\r')" = "request_id,requested_at,requested_by,message_id,recall_id,sender,recipient,copy_addr,outcome,reason,decided_at,dry_run,request_status"
check "csv: one line per row, CRLF" test "$(grep -c $'\r$' "$OUT")" = 4
check "csv: parses back (python csv) with 13 fields a row" \
    python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); sys.exit(0 if len(r)==4 and all(len(x)==13 for x in r) else 1)' "$OUT"
check "csv: fields come back exactly (reasons, message ids)" \
    test "$(python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); print("|".join(x[3]+" "+x[9] for x in r[1:]))' "$OUT")" = \
    "$(psql_lab "select string_agg(message_id || ' ' || reason, '|' order by requested_at, request_id, recipient) from recall_history")"
ctl history
check "table: header and rows" test "$(grep -c 'example.test' "$OUT")" = 3
check "table: row count line" grep -qx '3 rows' "$OUT"
ctl --json history
check "--json is --format json" test "$(jq length "$OUT")" = 3

# ---- filters ----------------------------------------------------------------------

ctl history --format json --sender alice@example.test
check "--sender" test "$(jq -r '[.[].recipient] | join(" ")' "$OUT")" = "bob@example.test carol@example.test"
ctl history --format json --recipient dave@example.test
check "--recipient" test "$(jq -r '.[].sender' "$OUT")" = rchist@example.test
ctl history --format json --outcome read
check "--outcome read" test "$(jq -r '.[].recipient' "$OUT")" = carol@example.test
TODAY=$(date -u +%F)
ctl history --format json --since "$TODAY" --until "$TODAY"
check "--since/--until a date: today's rows" test "$(jq length "$OUT")" = 3
ctl history --format json --until 2000-01-01
check "--until a past date: nothing" test "$(jq length "$OUT")" = 0
ctl history --format json --since "$(date -u -d '+1 hour' +%FT%TZ)"
check "--since an RFC 3339 time in the future: nothing" test "$(jq length "$OUT")" = 0
ctl history --format json --since "$(date -u -d '-1 hour' +%FT%T+00:00)" --outcome recalled --sender alice@example.test
check "filters combine" test "$(jq -r '.[].recipient' "$OUT")" = bob@example.test
ctl history --outcome gone
check "an unknown outcome is a usage error (64)" test "$RC" = 64
ctl history --since yesterday
check "a malformed time is refused (exit 2)" test "$RC" = 2
check "... saying what a time looks like" grep -q 'RFC 3339' "$ERR"
ctl history --since 2026-02-30
check "an impossible date is refused (exit 2), no crash" test "$RC" = 2
ctl history --format xml
check "an unknown format is a usage error (64)" test "$RC" = 64
ctl history --sender "a'b;drop table messages;--@example.test" --format json
check "a hostile filter is just a value (no rows, no harm)" \
    test "$RC" = 0 -a "$(jq length "$OUT")" = 0 -a "$(psql_lab 'select count(*) from messages')" -ge 2
ctl history --format json --limit 1
check "--limit 1 gives one row" test "$(jq length "$OUT")" = 1
check "... and warns that more match" grep -q 'more rows match' "$ERR"

# ---- who sees what --------------------------------------------------------------------

ctl_as rchist history --format json
check "a user sees only requests about their own mail" \
    test "$(jq -r '[.[].sender] | unique | join(" ")' "$OUT")" = rchist@example.test
ctl_as rchist history --format json --sender alice@example.test
check "a user asking for someone else's mail gets nothing" test "$(jq length "$OUT")" = 0
ctl_as nobody history --format json
check "nobody (sent nothing) sees nothing" test "$RC" = 0 -a "$(jq length "$OUT")" = 0

done_testing

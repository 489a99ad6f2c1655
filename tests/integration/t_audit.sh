#!/bin/bash
# t_audit.sh - the audit trail end to end: every request, decision,
# removal and refusal is in audit_log; "recallctl audit verify" finds a row
# changed, removed or inserted out of chain by a superuser who disabled the
# triggers; the triggers and the grants keep everyone else out; the
# auditor role reads its three relations and nothing else, and every query
# in docs/auditing.md runs as that role.
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_audit_out
ERR=$LAB/log/t_audit_err
# as_role ROLE SQL: run SQL as ROLE; output on stdout, exit code of psql.
as_role() {
	psql -X -At -v ON_ERROR_STOP=1 -h "$PGHOST" -U "$1" -d recall -c "$2" 2>&1
}
actions() {
	psql_lab "select string_agg(action, ' ' order by seq) from audit_log where request_id = $1"
}

# ---- 1. a recall leaves request, removal, decision and report rows ----------

send_mail alice@example.test bob@example.test x@ext.test --auth alice \
    --subject "audit 1" || not_ok "1: submit"
M1=$MSGID
wait_queue_empty 20
wait_delivered bob 1
ctl --json recall "$M1"
REQ=$(jq -r .request "$OUT")
check "1: recall partial (bob recalled, x@ext.test left)" test "$RC" = 1
check "1: audit rows request, removal, decision x2, report" \
    test "$(actions "$REQ")" = "request removal decision decision report"
check "1: the request row says who, the ref, dry run and via" \
    test "$(psql_lab "select actor || ' ' || (detail::jsonb->>'ref') || ' ' || (detail::jsonb->>'dry_run') || ' ' || (detail::jsonb->>'via') from audit_log where request_id = $REQ and action = 'request'")" = "root $M1 false recallctl"
check "1: the removal row names mailbox, uid and quarantine id" \
    test "$(psql_lab "select count(*) from audit_log a join quarantine q on q.id = (a.detail::jsonb->>'quarantine_id')::bigint where a.request_id = $REQ and a.action = 'removal' and a.detail::jsonb->>'mailbox' = 'INBOX' and (a.detail::jsonb->>'uid')::bigint = q.uid")" = 1
check "1: the decision rows carry their inputs" \
    test "$(psql_lab "select string_agg((detail::jsonb->>'recipient') || ':' || (detail::jsonb->>'outcome') || ':' || (detail::jsonb->'inputs'->>'class') || ':' || jsonb_array_length(detail::jsonb->'inputs'->'copies'), ' ' order by seq) from audit_log where request_id = $REQ and action = 'decision'")" = "bob@example.test:recalled:local:1 x@ext.test:left-external:external:0"
check "1: a decision row has age, max_age, policy flags and exposures" \
    test "$(psql_lab "select count(*) from audit_log where request_id = $REQ and action = 'decision' and detail::jsonb->'inputs' ?& array['age','max_age','opted_out','recall_read','store','copies','exposures']")" = 2

ctl recall "$M1" --dry-run
check "1: a dry run is audited as one" \
    test "$(psql_lab "select count(*) from audit_log where action = 'request' and (detail::jsonb->>'dry_run')::boolean")" = 1

# ---- 2. a refusal is audited though nothing else is written -------------------

id -u nobody > /dev/null
runuser -u nobody -- "${LAB_BIN_DIR:-$REPO/build/bin}/recallctl" \
    -c "$RECALL_CONF" recall "$M1" > "$OUT" 2> "$ERR"
check "2: nobody may not recall alice's mail (exit 2)" test $? = 2
check "2: the refusal is audited with who, what and why" \
    test "$(psql_lab "select count(*) from audit_log where action = 'refusal' and actor = 'nobody' and detail::jsonb->>'ref' = '$M1' and detail::jsonb->>'why' like '%may not recall%'")" = 1
check "2: no request row for the refused attempt" \
    test "$(psql_lab "select count(*) from recall_request where requested_by = 'nobody'")" = 0
runuser -u nobody -- "${LAB_BIN_DIR:-$REPO/build/bin}/recallctl" \
    -c "$RECALL_CONF" audit verify > "$OUT" 2> "$ERR"
check "2: audit verify is for admins (exit 2)" test $? = 2
check "2: and that refusal is audited too" \
    test "$(psql_lab "select count(*) from audit_log where action = 'refusal' and actor = 'nobody' and detail::jsonb->>'op' = 'audit_verify'")" = 1

# ---- 3. verify: intact ------------------------------------------------------------

ROWS=$(psql_lab "select count(*) from audit_log")
ctl audit verify
check "3: intact chain exits 0" test "$RC" = 0
check "3: and says so with the row count" \
    grep -qx "audit log: $ROWS rows, chain intact" "$OUT"
ctl --json audit verify
check "3: --json gives rows and intact" \
    test "$(jq -r '"\(.rows) \(.intact)"' "$OUT")" = "$ROWS true"

# ---- 4. triggers and grants -------------------------------------------------------

RES=$(psql_lab "update audit_log set detail = 'x' where seq = 1" 2>&1)
check "4: UPDATE refused by the trigger, even for the superuser" eval "printf '%s' \"\$RES\" | grep -q 'append-only'"
RES=$(psql_lab "delete from audit_log where seq = 1" 2>&1)
check "4: DELETE refused" eval "printf '%s' \"\$RES\" | grep -q 'append-only: DELETE'"
RES=$(psql_lab "truncate audit_log" 2>&1)
check "4: TRUNCATE refused" eval "printf '%s' \"\$RES\" | grep -q 'append-only: TRUNCATE'"
for stmt in "update audit_log set detail = 'x'" "delete from audit_log" \
    "truncate audit_log"; do
	RES=$(as_role recalld "$stmt")
	check "4: role recalld: ${stmt%% *} denied by grants" \
	    eval "printf '%s' \"\$RES\" | grep -q 'permission denied'"
done
check "4: nothing changed" test "$(psql_lab "select count(*) from audit_log")" = "$ROWS"

# ---- 5. tampering by a superuser with triggers disabled ---------------------------

psql_lab "alter table audit_log disable trigger user" > /dev/null
SEQ=3
ORIG=$(psql_lab "select detail from audit_log where seq = $SEQ")
psql_lab "update audit_log set detail = replace(detail, 'bob', 'eve') where seq = $SEQ" > /dev/null
ctl audit verify
check "5: a changed row: exit 1" test "$RC" = 1
check "5: names that row and why" \
    grep -qx "audit log: chain broken at row $SEQ: content does not match its hash (row changed)" "$OUT"
psql_lab "update audit_log set detail = \$x\$$ORIG\$x\$ where seq = $SEQ" > /dev/null
ctl audit verify
check "5: put back, intact again" test "$RC" = 0

SEQ=5
psql_lab "create table audit_saved as select * from audit_log where seq = $SEQ" > /dev/null
psql_lab "delete from audit_log where seq = $SEQ" > /dev/null
ctl --json audit verify
check "5: a removed row: exit 1" test "$RC" = 1
check "5: names the missing row" \
    test "$(jq -r '"\(.bad_seq) \(.why)"' "$OUT")" = "$SEQ row missing (gap in the sequence)"
psql_lab "insert into audit_log select * from audit_saved; drop table audit_saved" > /dev/null
ctl audit verify
check "5: re-inserted, intact again" test "$RC" = 0

LAST=$(psql_lab "select max(seq) from audit_log")
psql_lab "insert into audit_log (seq, at, actor, action, detail, prev_hash, hash) values ($LAST + 1, now(), 'mallory', 'restore', '{}', repeat('a', 64), repeat('b', 64))" > /dev/null
ctl audit verify
check "5: a row inserted out of chain: exit 1" test "$RC" = 1
check "5: names the inserted row" \
    grep -q "chain broken at row $((LAST + 1)): prev_hash does not match" "$OUT"
psql_lab "update audit_log set prev_hash = (select hash from audit_log where seq = $LAST) where seq = $LAST + 1" > /dev/null
ctl audit verify
check "5: chained but forged hash: still caught" \
    eval "test $RC = 1 && grep -q 'row $((LAST + 1)): content does not match' '$OUT'"
psql_lab "delete from audit_log where seq = $LAST + 1" > /dev/null
psql_lab "alter table audit_log enable trigger user" > /dev/null
ctl audit verify
check "5: cleaned up, intact" test "$RC" = 0

# ---- 6. the auditor role: its three relations and nothing else --------------------

for rel in recall_history route_events audit_log; do
	check "6: recall_auditor reads $rel" as_role recall_auditor "select count(*) from $rel"
done
bad=""
for rel in $(psql_lab "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r','v','m','p') and c.relname not in ('recall_history','route_events','audit_log')"); do
	if as_role recall_auditor "select 1 from $rel limit 0" > /dev/null; then
		bad="$bad $rel"
	fi
done
check "6: recall_auditor can read no other table or view" test -z "$bad"
[ -n "$bad" ] && diag "readable:$bad"
RES=$(as_role recall_auditor "insert into audit_log (seq, at, actor, action, prev_hash, hash) values (999999, now(), 'a', 'b', repeat('0',64), repeat('0',64))")
check "6: recall_auditor cannot write audit_log" \
    eval "printf '%s' \"\$RES\" | grep -q 'permission denied'"
RES=$(as_role recall_auditor "select message from quarantine limit 1")
check "6: recall_auditor cannot read message bodies (quarantine)" \
    eval "printf '%s' \"\$RES\" | grep -q 'permission denied'"

# ---- 7. every query in docs/auditing.md runs as recall_auditor --------------------

n=0
while IFS= read -r -d $'\x1e' q; do
	case "$q" in *"CREATE ROLE"*) continue ;; esac
	n=$((n + 1))
	RES=$(as_role recall_auditor "$q")
	rc=$?
	if [ $rc = 0 ]; then
		ok "7: auditing.md query $n runs as recall_auditor"
	else
		not_ok "7: auditing.md query $n runs as recall_auditor" "$q" "$RES"
	fi
done < <(awk '/^```sql$/ {on = 1; next} /^```$/ && on {on = 0; printf "\x1e"; next} on {print}' "$REPO/docs/auditing.md")
check "7: auditing.md has its queries" test "$n" -ge 6
# The questions they answer, against this lab's data:
check "7: 'recalled from a mailbox' finds bob's copy" \
    test "$(as_role recall_auditor "SELECT count(*) FROM recall_history WHERE copy_addr = 'bob@example.test' AND outcome = 'recalled' AND NOT dry_run")" = 1
check "7: 'refusals' finds nobody's attempts" \
    test "$(as_role recall_auditor "SELECT count(*) FROM audit_log WHERE action = 'refusal' AND actor = 'nobody'")" = 2

done_testing

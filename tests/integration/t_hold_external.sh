#!/bin/bash
# t_hold_external.sh - milter.hold_external in a real Postfix: inside mail
# with an external recipient waits in the hold queue (local copies too),
# is released after the hold, and a recall while it is held deletes it from
# the queue (held-recalled, confirmed by the milter host).
. "$(dirname "$0")/lib.sh"
lab_start

HOLD=5
sed -i "s/hold_external = 0;/hold_external = $HOLD;\n  postfix_config_dir = \"$(printf %s "$POSTFIX_CONF" | sed 's/[\/&]/\\&/g')\";/" "$RECALL_CONF"
check "setup: config has hold_external" grep -q "hold_external = $HOLD;" "$RECALL_CONF"
lab_restart milter || not_ok "setup: milter restart"

count_is() { [ "$(mail_count "$1")" = "$2" ]; }
recorded() { [ "$(psql_lab "select count(*) from messages where message_id = '$1'")" = 1 ]; }
held_state() { psql_lab "select state from held_message h join messages m using (recall_id) where m.message_id = '$1'"; }
state_is() { [ "$(held_state "$1")" = "$2" ]; }
in_hold() { postqueue -c "$POSTFIX_CONF" -p 2>/dev/null | grep -q "^$1!"; }	# "QID!" = held

# 1. Held, then released after HOLD seconds.
t0=$(date +%s)
send_mail alice@example.test bob@example.test x@ext.test --auth alice \
    --subject "hold: one" || not_ok "t1: submit"
q1=$QID m1=$MSGID
check "t1: Postfix logged the milter hold" wait_log "$MAILLOG" "$q1: milter-hold: END-OF-MESSAGE" 10
check "t1: the message is in the hold queue" in_hold "$q1"
check "t1: the local copy waits too (bob has nothing yet)" count_is bob 0
wait_for 10 recorded "$m1"
check "t1: held_message recorded" wait_for 10 state_is "$m1" held
check "t1: released by the milter host" wait_log "$LAB/log/recall-milter.log" "$q1: released from hold" $((HOLD + 10))
check "t1: Postfix logged the release" wait_log "$MAILLOG" "$q1: released from hold" 5
t1=$(date +%s)
check "t1: not released before hold_external ($((t1 - t0)) s)" test $((t1 - t0)) -ge $HOLD
check "t1: bob got it after the release" wait_delivered bob 1 20
check "t1: the external copy left after the release" wait_for 20 sink_files "$m1"
check "t1: held_message marked released" wait_for 10 state_is "$m1" released

# 2. A recall while held deletes the queue file: held-recalled for all.
send_mail alice@example.test carol@example.test y@ext.test --auth alice \
    --subject "hold: two" || not_ok "t2: submit"
q2=$QID m2=$MSGID
wait_for 10 recorded "$m2"
check "t2: held" in_hold "$q2"
out=$(recallctl_lab --json recall "$m2" 2>&1)
rc=$?
diag "$out"
check "t2: recall complete (exit 0)" test "$rc" = 0
check "t2: every copy held-recalled" \
    test "$(printf '%s' "$out" | jq -r '[.copies[].outcome] | unique | join(",")')" = held-recalled
check "t2: the milter host deleted it" wait_log "$LAB/log/recall-milter.log" "$q2: deleted from the hold queue" 5
check "t2: gone from the queue" wait_queue_empty 10
check "t2: held_action confirmed 'deleted'" \
    test "$(psql_lab "select result from held_action where queue_id = '$q2'")" = deleted
sleep $((HOLD + 2))
check "t2: carol never got it" count_is carol 0
check "t2: nothing reached the sink" test -z "$(sink_files "$m2")"

# 3. Internal-only mail is not held.
send_mail alice@example.test dave@example.test --auth alice \
    --subject "hold: three" || not_ok "t3: submit"
check "t3: internal mail delivered at once" wait_delivered dave 1 3

done_testing

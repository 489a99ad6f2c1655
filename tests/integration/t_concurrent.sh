#!/bin/bash
# t_concurrent.sh - a long recall holds back no other request.
#
# recalld serves each control connection in a process of its own
# (recalld/worker.c).  The doveadm gate (doveadm_gate.py) holds a recall
# at its first expunge for as long as the test wants.  Meanwhile:
#   1. a dry run of another message, a trace and a status answer;
#   2. a second recall of the held message is refused as busy (the
#      message's lock, now between processes of one recalld);
#   3. the held recall, released, ends as it would have alone; no request
#      process is left behind;
#   4. a recall by mail (run by the main process in a child of its own)
#      held the same way: a trace answers meanwhile, a recallctl recall of
#      that message is busy;
#   5. SIGTERM while a recall is held: the socket goes at once, the held
#      recall still ends and answers, then recalld exits.
. "$(dirname "$0")/lib.sh"
lab_start

OUT=$LAB/log/t_concurrent_out
ERR=$LAB/log/t_concurrent_err
gate_start

send_mail alice@example.test bob@example.test --auth alice \
    --subject "held recall" --quiet || not_ok "submit 1"
M1=$MSGID
send_mail alice@example.test carol@example.test --auth alice \
    --subject "another message" --quiet || not_ok "submit 2"
M2=$MSGID
wait_queue_empty 20 > /dev/null
wait_delivered bob 1 && wait_delivered carol 1 || not_ok "delivered"
wait_recorded "$M1" && wait_recorded "$M2" || not_ok "recorded"

# hold: the next expunge waits until the file "go" exists (at most 60 s);
# "held" says it is waiting.
hold() {
	rm -f "$GATE/go" "$GATE/held"
	{
		printf '%s %s\n' "$(command -v touch)" "$GATE/held"
		printf '%s 60 %s -c "while [ ! -e %s ]; do sleep 0.1; done"\n' \
		    "$(command -v timeout)" "$(command -v sh)" "$GATE/go"
	} > "$GATE/hook.new"
	mv "$GATE/hook.new" "$GATE/hook"
}
# children: recalld's request processes now.
children() { pgrep -P "$RPID" | grep -c .; }

# ---- 1. other requests while a recall is held --------------------------------
hold
recallctl_lab --json recall "$M1" > "$LAB/log/held.out" 2> "$LAB/log/held.err" &
HELD=$!
check "1: the recall reached its expunge and is held" \
    wait_for 20 test -e "$GATE/held"
check "1: one request process runs it" test "$(children)" = 1

ctl --json recall --dry-run "$M2"
check "1: a dry run of another message answers meanwhile (exit 0)" \
    test "$RC" = 0
check "1: ... and finds carol's copy" \
    test "$(outcome_of carol@example.test)" = recalled
ctl --json trace "$M1"
check "1: a trace of the held message answers meanwhile" test "$RC" = 0
check "1: ... with its delivery to bob" \
    eval "jq -r '.events[].recipient' '$OUT' | grep -q bob@example.test"
ctl --json status "$M2"
check "1: a status query answers meanwhile" test "$RC" -le 2
check "1: ... and the recall is still held" eval "kill -0 $HELD && test ! -e '$GATE/go'"

# ---- 2. the same message twice -----------------------------------------------
ctl --json recall "$M1"
check "2: a second recall of the held message is refused (exit 2)" test "$RC" = 2
check "2: ... as busy, saying why" \
    grep -q 'another recall of .* is running' "$ERR" "$OUT"
check "2: ... and the first is still held" eval "kill -0 $HELD"

# ---- 3. released --------------------------------------------------------------
touch "$GATE/go"
wait "$HELD"
check "3: the held recall ends: complete (exit 0)" test $? = 0
OUT=$LAB/log/held.out
check "3: bob's copy recalled" test "$(outcome_of bob@example.test)" = recalled
check "3: ... and gone from his mailbox" test "$(mail_count bob)" = 0
check "3: carol's copy untouched by the dry run" test "$(mail_count carol)" = 1
no_children() { test "$(children)" = 0; }
check "3: no request process is left" wait_for 10 no_children
check "3: none failed" \
    eval "! grep -q 'request process .* \(killed\|exited\)' '$LAB/log/recalld.log'"
OUT=$LAB/log/t_concurrent_out
ctl --json status "$M1"
check "3: its status says complete" test "$(jq -r .status "$OUT")" = complete

# ---- 4. a recall by mail, held --------------------------------------------------
send_mail alice@example.test dave@example.test --auth alice \
    --subject "recalled by mail" --quiet || not_ok "submit 3"
M3=$MSGID
wait_queue_empty 20 > /dev/null
wait_delivered dave 1 && wait_recorded "$M3" || not_ok "delivered 3"
req_state() {
	psql_lab "select state from mail_request where ref = '$M3'
	    order by id desc limit 1"
}
hold
send_mail alice@example.test recall@example.test --auth alice \
    --subject "Recall: $M3" --quiet || not_ok "the request by mail"
check "4: the recall by mail reaches its expunge and is held" \
    wait_for 30 test -e "$GATE/held"
check "4: ... its request is running" test "$(req_state)" = running
ctl --json trace "$M1"
check "4: a trace answers meanwhile" test "$RC" = 0
ctl --json recall "$M3"
check "4: a recall of the same message by recallctl is refused (exit 2)" \
    test "$RC" = 2
check "4: ... as busy" grep -q 'another recall of .* is running' "$ERR" "$OUT"
check "4: ... and the request by mail is still held" \
    eval "test ! -e '$GATE/go' && test \"\$(req_state)\" = running"
touch "$GATE/go"
req_done() { test "$(req_state)" = done; }
check "4: released, the request by mail is done" wait_for 30 req_done
check "4: dave's copy is gone" test "$(mail_count dave)" = 0

# ---- 5. SIGTERM with a recall held ----------------------------------------------
hold
recallctl_lab --json recall "$M2" > "$LAB/log/held2.out" 2> "$LAB/log/held2.err" &
HELD=$!
check "5: a recall of carol's copy is held" wait_for 20 test -e "$GATE/held"
kill -TERM "$RPID"
check "5: the control socket goes at once" \
    wait_for 10 test ! -S "$(sed -n 's/^ *control_socket = "\(.*\)";/\1/p' "$RECALL_CONF")"
check "5: recalld waits for the running request" \
    eval "sleep 0.5; kill -0 $RPID"
check "5: ... and says so" \
    grep -q 'waiting for 1 running request to finish' "$LAB/log/recalld.log"
touch "$GATE/go"
wait "$HELD"
check "5: the held recall still ends: complete (exit 0)" test $? = 0
OUT=$LAB/log/held2.out
check "5: carol's copy recalled" test "$(outcome_of carol@example.test)" = recalled
check "5: recalld exits once it is done" \
    wait_for 10 eval "! kill -0 $RPID 2>/dev/null"
check "5: ... and logs its stop" grep -q 'stopped' "$LAB/log/recalld.log"

done_testing

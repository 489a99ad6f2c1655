-- 008: keep route_event rows out of the indexes that can never find them.
--
-- Every row went into every index, NULLs included: a Dovecot row (no
-- queue id, no recall id until it is linked) paid for route_event_queue,
-- route_event_recall and route_event_unlinked_queue, and every row with a
-- session (most Dovecot rows) for route_event_session, which only the
-- linking of Dovecot saves to their LMTP delivery reads.  On a 2-core VM
-- an INSERT of 14,000 Dovecot rows took 190 ms with all eight indexes;
-- each index entry costs about as much as the heap row.  Each index below
-- keeps the name and the columns it had; only its predicate is new, and
-- every query that used it states that predicate (ledger.c: link_sql[],
-- ledger_message_load()), so the plans do not change.
--
-- Upgrade note: rebuilding the indexes takes a lock that holds back
-- writes to route_event until it is done (seconds per million rows):
-- recalld's log followers wait, and so does the milter's writer for its
-- route events, but no mail does (the milter's records wait in its spool).
DROP INDEX route_event_recall;
CREATE INDEX route_event_recall ON route_event (recall_id, at)
    WHERE recall_id IS NOT NULL;
DROP INDEX route_event_queue;
CREATE INDEX route_event_queue ON route_event (queue_id)
    WHERE queue_id IS NOT NULL;
DROP INDEX route_event_unlinked_queue;
CREATE INDEX route_event_unlinked_queue ON route_event (queue_id, at)
    WHERE recall_id IS NULL AND source = 'postfix';
DROP INDEX route_event_session;
CREATE INDEX route_event_session ON route_event (session)
    WHERE source = 'dovecot' AND event = 'saved';

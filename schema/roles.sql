-- Least-privilege roles, one per program, plus the auditor.  Re-run on every
-- install; passwords are the administrator's business (ALTER ROLE ...
-- PASSWORD, or peer/cert authentication in pg_hba.conf).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'recall_milter') THEN
        CREATE ROLE recall_milter LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'recalld') THEN
        CREATE ROLE recalld LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'recall_auditor') THEN
        CREATE ROLE recall_auditor LOGIN;
    END IF;
END
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, recall_milter, recalld, recall_auditor;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, recall_milter, recalld, recall_auditor;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO recall_milter, recalld, recall_auditor;

-- recall-milter: records messages, recipients and re-entry events.
GRANT SELECT, INSERT ON messages, recipients TO recall_milter;
GRANT INSERT ON route_event TO recall_milter;
GRANT USAGE ON SEQUENCE route_event_id_seq TO recall_milter;
-- ... recall requests by mail (004) and held mail (005): it inserts them,
-- marks held mail released or deleted, and carries out held_action rows.
GRANT INSERT ON mail_request TO recall_milter;
GRANT USAGE ON SEQUENCE mail_request_id_seq TO recall_milter;
GRANT INSERT, UPDATE (state, changed_at) ON held_message TO recall_milter;
GRANT SELECT (queue_id, milter_host, state) ON held_message TO recall_milter;
GRANT SELECT, UPDATE (result, done_at) ON held_action TO recall_milter;

-- recalld: reads everything it decides on, writes the ledger, requests,
-- outcomes and quarantine; may only append to the audit log.
GRANT SELECT ON messages, recipients TO recalld;
GRANT SELECT, INSERT, UPDATE ON route_event TO recalld;
GRANT SELECT, INSERT, UPDATE ON recall_request, recall_outcome, quarantine,
      follower_state TO recalld;
GRANT DELETE ON recall_outcome TO recalld;
GRANT SELECT, INSERT, UPDATE ON queue_link TO recalld;
GRANT SELECT, INSERT ON audit_log TO recalld;
GRANT SELECT, UPDATE ON mail_request TO recalld;
GRANT SELECT ON held_message TO recalld;
GRANT SELECT, INSERT ON held_action TO recalld;
-- ... and Dovecot logins, joined to later downloads by session (006).
GRANT SELECT, INSERT, DELETE ON dovecot_login TO recalld;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO recalld;
GRANT SELECT ON recall_history, route_events TO recalld;

-- recall_auditor: read, and only read, the history, the routes and the audit log.
GRANT SELECT ON recall_history, route_events, audit_log TO recall_auditor;

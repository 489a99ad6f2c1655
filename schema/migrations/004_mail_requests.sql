-- 004: recall requests by mail (issue #5).
--
-- recall-milter turns a mail to milter.recall_address into one row here
-- (through its spool: dedup_key makes a replay insert nothing twice).
-- recalld claims pending rows with UPDATE ... WHERE id = (SELECT ... FOR
-- UPDATE SKIP LOCKED LIMIT 1), so several recalld hosts share the work,
-- runs the recall as requested_by (via = 'mail') and records the result.
CREATE TABLE mail_request (
    id           bigserial PRIMARY KEY,
    dedup_key    text NOT NULL UNIQUE,
    ref          text NOT NULL,          -- the Message-ID asked for, normalised
    requested_by text NOT NULL,          -- address of the authenticated login
    auth_user    text,                   -- the SASL login itself
    queue_id     text,                   -- of the request mail
    milter_host  text,
    received_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'running', 'done', 'failed')),
    claimed_at   timestamptz,
    claimed_by   text,                   -- host name of the recalld
    request_id   bigint REFERENCES recall_request,
    finished_at  timestamptz,
    error        text
);
CREATE INDEX mail_request_open ON mail_request (id)
    WHERE state IN ('pending', 'running');

-- Wake the recalld's that LISTEN; they also poll, so a lost notification
-- only delays a request.
CREATE FUNCTION mail_request_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('recall_mail_request', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER mail_request_notify AFTER INSERT ON mail_request
    FOR EACH ROW EXECUTE FUNCTION mail_request_notify();

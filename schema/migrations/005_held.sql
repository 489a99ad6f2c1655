-- 005: mail held in the MTA queue for milter.hold_external (issue #3).
--
-- recall-milter records each message it put in Postfix's hold queue; its
-- hold thread on the MTA host releases it when hold_until has passed and
-- marks the row 'released'.  A recall of a held message adds a
-- held_action row for that host; the milter host deletes the queue file
-- (postsuper -d QID hold) and answers in result, and only then does
-- recalld report held-recalled.
CREATE TABLE held_message (
    recall_id   text PRIMARY KEY,
    queue_id    text NOT NULL,
    milter_host text NOT NULL,
    hold_until  timestamptz NOT NULL,
    state       text NOT NULL DEFAULT 'held'
                CHECK (state IN ('held', 'released', 'deleted')),
    changed_at  timestamptz
);
CREATE INDEX held_message_queue ON held_message (queue_id, milter_host);

CREATE TABLE held_action (
    id          bigserial PRIMARY KEY,
    recall_id   text NOT NULL,
    queue_id    text NOT NULL,
    milter_host text NOT NULL,
    action      text NOT NULL DEFAULT 'delete' CHECK (action IN ('delete')),
    request_id  bigint REFERENCES recall_request,
    requested_at timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz,
    result      text CHECK (result IN ('deleted', 'not-held'))
);
CREATE INDEX held_action_open ON held_action (milter_host, id)
    WHERE done_at IS NULL;

CREATE FUNCTION held_action_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('recall_held_action', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER held_action_notify AFTER INSERT ON held_action
    FOR EACH ROW EXECUTE FUNCTION held_action_notify();

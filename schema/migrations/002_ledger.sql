-- 002: the route ledger's followers and links (issue #4).

-- A follower's position: the file generation (a number chosen when the
-- file was first seen, so a recycled inode never repeats a dedup key) and
-- a fingerprint of its first bytes (to notice copytruncate even when the
-- file has grown past the old offset again).
ALTER TABLE follower_state
    ADD COLUMN generation bigint NOT NULL DEFAULT 0,
    ADD COLUMN head_len   integer NOT NULL DEFAULT 0,
    ADD COLUMN head_hash  bigint NOT NULL DEFAULT 0;

-- Child queue files made by local(8) ("forwarded as CHILD"): a copy that
-- went through an alias or .forward is followed to its child's deliveries.
CREATE TABLE queue_link (
    child_qid   text NOT NULL,
    parent_qid  text NOT NULL,
    recipient   text NOT NULL,           -- the parent's to= that was forwarded
    at          timestamptz NOT NULL,
    host        text NOT NULL DEFAULT '',
    recall_id   text,                    -- the parent's, when known
    PRIMARY KEY (child_qid, at)
);
CREATE INDEX queue_link_parent ON queue_link (parent_qid, at);

-- Linking Dovecot lines to a message's copies after the fact:
--   LMTP session (Postfix's "250 ... <a@b> SESSION Saved" = Dovecot's
--   session of the save line), Message-ID of save/copy lines, and the
--   (user, mailbox, uid) of every later line about that copy.
CREATE INDEX route_event_session ON route_event (session)
    WHERE session IS NOT NULL;
CREATE INDEX route_event_msgid ON route_event (detail)
    WHERE source = 'dovecot' AND event IN ('saved', 'copied');
CREATE INDEX route_event_mailbox_uid ON route_event (copy_addr, mailbox, uid)
    WHERE source = 'dovecot' AND recall_id IS NULL;
CREATE INDEX route_event_unlinked_queue ON route_event (queue_id, at)
    WHERE recall_id IS NULL;

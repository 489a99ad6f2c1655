-- 001: messages, recipients, the route ledger, requests, outcomes,
-- quarantine and the audit log.

-- One row per tagged message, written by recall-milter.
CREATE TABLE messages (
    recall_id    text PRIMARY KEY CHECK (recall_id ~ '^[0-9a-f]{24}$'),
    message_id   text NOT NULL,          -- normalised, with angle brackets
    sender       text NOT NULL,          -- envelope sender, normalised ('' = <>)
    auth_user    text,                   -- SASL login, NULL if none
    client_addr  text,
    queue_id     text,
    size         bigint,
    subject      text,
    submitted_at timestamptz NOT NULL,
    origin       text NOT NULL DEFAULT 'smtp',   -- smtp | auth | local
    milter_host  text,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_queue_id ON messages (queue_id);
CREATE INDEX messages_sender ON messages (sender, submitted_at);

-- Every envelope recipient as the milter saw it (before alias expansion).
CREATE TABLE recipients (
    recall_id  text NOT NULL REFERENCES messages ON DELETE CASCADE,
    recipient  text NOT NULL,
    class      text NOT NULL CHECK (class IN ('local', 'external', 'list')),
    PRIMARY KEY (recall_id, recipient)
);

-- The ledger: everything that happened to a message or one of its copies.
-- dedup_key makes every writer idempotent (a replayed spool or log line
-- inserts nothing twice).
CREATE TABLE route_event (
    id          bigserial PRIMARY KEY,
    dedup_key   text UNIQUE,
    recall_id   text,                    -- NULL until linked (log lines by queue id)
    queue_id    text,
    recipient   text,                    -- envelope recipient (orig_to) if known
    copy_addr   text,                    -- final address / mailbox owner
    at          timestamptz NOT NULL,
    source      text NOT NULL,           -- milter | postfix | dovecot | recalld
    event       text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    mailbox     text,
    uid         bigint,
    remote_ip   text,
    local_port  integer,
    session     text,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX route_event_recall ON route_event (recall_id, at);
CREATE INDEX route_event_queue ON route_event (queue_id);

-- A recall request and its per-copy outcomes.
CREATE TABLE recall_request (
    id            bigserial PRIMARY KEY,
    recall_id     text NOT NULL REFERENCES messages,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    requested_by  text NOT NULL,         -- unix user or address that asked
    report_to     text,                  -- address the report goes to
    via           text NOT NULL DEFAULT 'recallctl',   -- recallctl | mail
    dry_run       boolean NOT NULL DEFAULT false,
    status        text,                  -- complete | partial | failed (NULL while running)
    finished_at   timestamptz
);
CREATE INDEX recall_request_recall ON recall_request (recall_id);

CREATE TABLE recall_outcome (
    request_id  bigint NOT NULL REFERENCES recall_request ON DELETE CASCADE,
    recipient   text NOT NULL,           -- envelope recipient
    copy_addr   text NOT NULL DEFAULT '',-- mailbox owner of this copy ('' = none)
    outcome     text NOT NULL CHECK (outcome IN ('recalled', 'read',
                 'left-external', 'left-forwarded', 'left-list', 'left-pop3',
                 'left-imap', 'left-mobile', 'held-recalled', 'not-found',
                 'expired', 'opted-out', 'pending')),
    reason      text NOT NULL,
    decided_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, recipient, copy_addr)
);

-- Recalled copies, kept for restore until expires_at.
CREATE TABLE quarantine (
    id          bigserial PRIMARY KEY,
    request_id  bigint NOT NULL REFERENCES recall_request,
    recipient   text NOT NULL,
    copy_addr   text NOT NULL,
    store_user  text NOT NULL,
    mailbox     text NOT NULL,
    uid         bigint,
    flags       text NOT NULL DEFAULT '',
    message     bytea NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    restored_at timestamptz,
    purged_at   timestamptz
);
CREATE INDEX quarantine_request ON quarantine (request_id);

-- Append-only, hash-chained audit trail.
CREATE TABLE audit_log (
    seq         bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    recall_id   text,
    request_id  bigint,
    detail      text NOT NULL DEFAULT '',
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);

-- Positions of the log followers (one row per source and host).
CREATE TABLE follower_state (
    source     text NOT NULL,
    host       text NOT NULL,
    path       text NOT NULL,
    dev        bigint NOT NULL DEFAULT 0,
    inode      bigint NOT NULL DEFAULT 0,
    "offset"   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, host)
);

-- Auditor views.
CREATE VIEW recall_history AS
SELECT r.id            AS request_id,
       r.requested_at,
       r.requested_by,
       m.message_id,
       m.recall_id,
       m.sender,
       o.recipient,
       o.copy_addr,
       o.outcome,
       o.reason,
       o.decided_at,
       r.dry_run,
       r.status        AS request_status
  FROM recall_request r
  JOIN messages m ON m.recall_id = r.recall_id
  JOIN recall_outcome o ON o.request_id = r.id;

CREATE VIEW route_events AS
SELECT e.id, e.recall_id, m.message_id, e.queue_id, e.recipient, e.copy_addr,
       e.at, e.source, e.event, e.detail, e.mailbox, e.uid, e.remote_ip,
       e.local_port
  FROM route_event e
  LEFT JOIN messages m ON m.recall_id = e.recall_id;

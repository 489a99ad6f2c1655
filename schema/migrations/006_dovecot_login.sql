-- 006: Dovecot logins, kept so that a body access survives a restart.
--
-- A POP3 download (mail_opened pop3:cmd_retr / cmd_top) carries no client
-- address, and an IMAP one carries the address a webmail may have
-- rewritten (x-originating-ip): the login event of the same session
-- (auth_client_request_finished) supplies real_remote_ip, local_port and
-- the authenticating user.  recalld keeps recent logins in memory and
-- writes every one here, in the same transaction as the follower's
-- position, so a download read after a restart (or after the login fell
-- out of the memory cache) is still classified by its login.
-- One row per login line; dedup_key is the line's key (follow.h), so a
-- line read again inserts nothing.  Not part of the route ledger: no
-- recall_id, never shown by trace, not readable by recall_auditor.
CREATE TABLE dovecot_login (
    dedup_key      text PRIMARY KEY,
    session        text NOT NULL,
    at             timestamptz NOT NULL,   -- the event's start_time
    service        text NOT NULL DEFAULT '',   -- imap, pop3, ...
    username       text NOT NULL DEFAULT '',
    remote_ip      text NOT NULL DEFAULT '',   -- as the client claimed it
    real_remote_ip text NOT NULL DEFAULT '',   -- the peer of the connection
    local_port     integer,                    -- NULL when not logged
    auth_user      text NOT NULL DEFAULT '',
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dovecot_login_session ON dovecot_login (session, at);

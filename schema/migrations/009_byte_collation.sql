-- 009: every text column compares as bytes (COLLATE "C").
--
-- The columns hold identifiers and addresses: recall ids, queue ids, dedup
-- keys, Dovecot sessions, mailbox names, Message-IDs.  Nothing here is
-- sorted for a reader in a language's order, and equality under any
-- deterministic collation is byte equality anyway, so only the cost of a
-- comparison changes.  That cost is large: a database created under a
-- libc locale such as en_US.UTF-8 (Debian's initdb takes the system's)
-- compares text in every index with strcoll().  bench/ledger on a 2-core
-- VM, the same code into two labs side by side: into a C database 161,000-
-- 235,000 Postfix and 120,000-160,000 Dovecot lines/s; into an en_US.UTF-8
-- one 84,000-103,000 and 51,000-61,000 (docs/performance.md).  With this
-- migration the schema no longer depends on the locale the database was
-- created with.
--
-- A column's collation cannot change while a view reads it, so the two
-- auditor views are dropped and created again from their own definitions
-- (roles.sql grants them again at the end of install.sql).  A view of the
-- site's own over these tables makes the ALTER fail with PostgreSQL's
-- "cannot alter type of a column used by a view or rule": drop it, run
-- install.sql, create it again.
--
-- Upgrade note: no table is rewritten, but every index on a changed
-- column is rebuilt under a lock that holds back writes to its table
-- (seconds per million rows): recalld's log followers and the milter's
-- writer wait, no mail does (the milter's records wait in its spool).
DO $$
DECLARE
    views  constant text[] := ARRAY['recall_history', 'route_events'];
    tables constant text[] := ARRAY['messages', 'recipients', 'route_event',
        'recall_request', 'recall_outcome', 'quarantine', 'audit_log',
        'follower_state', 'queue_link', 'mail_request', 'held_message',
        'held_action', 'dovecot_login'];
    defs   text[] := '{}';
    t      text;
    i      integer;
    alters text;
BEGIN
    FOR i IN 1 .. array_length(views, 1) LOOP
        defs := defs || pg_get_viewdef(views[i]::regclass);
        EXECUTE format('DROP VIEW %I', views[i]);
    END LOOP;
    FOREACH t IN ARRAY tables LOOP
        SELECT string_agg(format('ALTER COLUMN %I TYPE text COLLATE "C"',
                                 a.attname), ', ' ORDER BY a.attnum)
          INTO alters
          FROM pg_attribute a
         WHERE a.attrelid = t::regclass AND a.attnum > 0
           AND NOT a.attisdropped AND a.atttypid = 'text'::regtype;
        IF alters IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I ', t) || alters;
        END IF;
    END LOOP;
    FOR i IN 1 .. array_length(views, 1) LOOP
        EXECUTE format('CREATE VIEW %I AS ', views[i]) || defs[i];
    END LOOP;
END
$$;

-- 007: find a mailbox copy's Dovecot rows by (user, mailbox, uid), linked
-- or not.
--
-- recalld asks, for every copy it expunged, whether Dovecot's log shows
-- the expunge (and, for the race check, a download just before): one
-- lookup per copy by (copy_addr, mailbox, uid).  The index of 002 holds
-- only rows not yet linked to a message (recall_id IS NULL), which these
-- lookups cannot require, so at 4,000 copies the planner scanned the
-- whole table.  This index serves both them and the linking of 002
-- (which adds recall_id IS NULL as a filter), so it replaces that one.
CREATE INDEX route_event_dovecot_loc ON route_event (copy_addr, mailbox, uid)
    WHERE source = 'dovecot';
DROP INDEX route_event_mailbox_uid;

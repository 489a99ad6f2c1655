-- 003: the audit log is append-only.  Triggers refuse UPDATE, DELETE and
-- TRUNCATE for every role, owner included; no role is granted them either.
-- A superuser can still disable triggers: that is what the hash chain is
-- for (recallctl audit verify).

CREATE FUNCTION audit_log_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

ALTER TABLE audit_log ADD CONSTRAINT audit_log_seq_positive CHECK (seq > 0);
ALTER TABLE audit_log ADD CONSTRAINT audit_log_hash_hex
    CHECK (hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$');
CREATE INDEX audit_log_recall ON audit_log (recall_id);
CREATE INDEX audit_log_at ON audit_log (at);

-- recall: create or upgrade the database.  Run as a PostgreSQL superuser:
--   psql -v ON_ERROR_STOP=1 -d recall -f schema/install.sql
-- Running it again is harmless: each numbered migration runs once, in
-- order, and roles and grants are (re)applied at the end.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS schema_version (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

SELECT NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 1) AS need \gset
\if :need
BEGIN;
\ir migrations/001_initial.sql
INSERT INTO schema_version (version) VALUES (1);
COMMIT;
\endif

SELECT NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 2) AS need \gset
\if :need
BEGIN;
\ir migrations/002_ledger.sql
INSERT INTO schema_version (version) VALUES (2);
COMMIT;
\endif

SELECT NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 3) AS need \gset
\if :need
BEGIN;
\ir migrations/003_audit.sql
INSERT INTO schema_version (version) VALUES (3);
COMMIT;
\endif

SELECT NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 4) AS need \gset
\if :need
BEGIN;
\ir migrations/004_mail_requests.sql
INSERT INTO schema_version (version) VALUES (4);
COMMIT;
\endif

SELECT NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 5) AS need \gset
\if :need
BEGIN;
\ir migrations/005_held.sql
INSERT INTO schema_version (version) VALUES (5);
COMMIT;
\endif

SELECT NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 6) AS need \gset
\if :need
BEGIN;
\ir migrations/006_dovecot_login.sql
INSERT INTO schema_version (version) VALUES (6);
COMMIT;
\endif

SELECT NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 7) AS need \gset
\if :need
BEGIN;
\ir migrations/007_dovecot_locations.sql
INSERT INTO schema_version (version) VALUES (7);
COMMIT;
\endif

SELECT NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 8) AS need \gset
\if :need
BEGIN;
\ir migrations/008_lean_route_indexes.sql
INSERT INTO schema_version (version) VALUES (8);
COMMIT;
\endif

SELECT NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 9) AS need \gset
\if :need
BEGIN;
\ir migrations/009_byte_collation.sql
INSERT INTO schema_version (version) VALUES (9);
COMMIT;
\endif

\ir roles.sql

#!/bin/bash
# t_schema.sh - schema/install.sql creates and upgrades the database, and
# migration 009 (every text column COLLATE "C") works on a database that
# already holds data and was created under a libc locale.
#
#   1. the lab's database (install.sql from nothing): every text column of
#      the schema compares as bytes;
#   2. a database created with LC_COLLATE C.UTF-8, taken to version 8 and
#      filled, then upgraded by install.sql: version 9, every text column
#      "C", no row lost, the auditor views answer as before (and only for
#      the roles that had them), every index valid, the dedup key still
#      refuses a duplicate; install.sql run again changes nothing;
#   3. a view of the site's own over route_event: the upgrade stops with
#      PostgreSQL's error and leaves the database at version 8 unchanged
#      (what 009's header tells the administrator).
. "$(dirname "$0")/lib.sh"
LAB_NO_RECALLD=1 LAB_NO_MILTER=1 lab_start

work=$LAB/log/t_schema
mkdir -p "$work"

# psql_db DB SQL: one query as the superuser, unaligned.
psql_db() {
	psql -X -At -v ON_ERROR_STOP=1 -h "$PGHOST" -U postgres -d "$1" -c "$2"
}

# install_to DB FILE: run an install script into DB, output in $work.
install_to() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -U postgres -d "$1" \
	    -f "$2" > "$work/install-$1.out" 2>&1
}

# not_c DB: our tables' text columns that do not compare as bytes.
not_c() {
	psql_db "$1" "SELECT c.relname || '.' || a.attname
	    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	    JOIN pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0
	      AND NOT a.attisdropped AND a.atttypid = 'text'::regtype
	      AND a.attcollation <> '\"C\"'::regcollation ORDER BY 1"
}

# ---- 1. a new database ------------------------------------------------------
check "1: the lab's schema is at version 9" \
    test "$(psql_lab 'SELECT max(version) FROM schema_version')" = 9
check "1: ... and every text column compares as bytes" test -z "$(not_c recall)"
check "1: ... (there are text columns to look at)" test "$(psql_lab "SELECT
    count(*) FROM pg_attribute WHERE attrelid = 'route_event'::regclass
    AND atttypid = 'text'::regtype AND NOT attisdropped")" -ge 10

# ---- 2. upgrading a filled version-8 database --------------------------------
# install.sql without the block of version 9, next to the real migrations.
mkdir -p "$work/v8"
ln -sfn "$REPO/schema/migrations" "$work/v8/migrations"
ln -sfn "$REPO/schema/roles.sql" "$work/v8/roles.sql"
sed '/WHERE version = 9) AS need/,/^\\endif/d' "$REPO/schema/install.sql" \
    > "$work/v8/install.sql"
check "2: the version-8 script lacks 009 only" \
    test "$(grep -c '009_' "$work/v8/install.sql")" = 0

mkdb() { # mkdb NAME: an empty database sorting by the C.UTF-8 libc locale
	psql_db postgres "CREATE DATABASE $1 TEMPLATE template0 ENCODING 'UTF8'
	    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'" >/dev/null
}

fill() { # fill DB: a message, its recipients, route events, a request
	psql_db "$1" "
	INSERT INTO messages (recall_id, message_id, sender, queue_id, origin,
	    milter_host, submitted_at, size)
	VALUES ('aaaaaaaaaaaaaaaaaaaa0001', '<m1@example.test>', 'alice@example.test', 'Q1',
	    'auth', 'mx', now(), 100);
	INSERT INTO recipients (recall_id, recipient, class)
	VALUES ('aaaaaaaaaaaaaaaaaaaa0001', 'bob@example.test', 'local'),
	       ('aaaaaaaaaaaaaaaaaaaa0001', 'x@ext.test', 'external');
	INSERT INTO route_event (dedup_key, recall_id, queue_id, recipient,
	    copy_addr, at, source, event, detail, mailbox, uid, session)
	SELECT 'k' || i, CASE WHEN i % 2 = 0 THEN 'aaaaaaaaaaaaaaaaaaaa0001' END, 'Q' || (i % 7),
	    'bob@example.test', 'bob', now(), 'dovecot',
	    CASE WHEN i % 3 = 0 THEN 'saved' ELSE 'opened' END,
	    '<m1@example.test>', 'INBOX', i, 's' || (i % 5)
	FROM generate_series(1, 500) i;
	INSERT INTO recall_request (recall_id, requested_by, via, status)
	VALUES ('aaaaaaaaaaaaaaaaaaaa0001', 'alice@example.test', 'recallctl', 'complete');
	INSERT INTO recall_outcome (request_id, recipient, copy_addr, outcome,
	    reason)
	SELECT id, 'bob@example.test', 'bob', 'recalled', 'unread'
	FROM recall_request;" >/dev/null
}

if mkdb up8 && install_to up8 "$work/v8/install.sql" && fill up8; then
	ok "2: a C.UTF-8 database at version 8, filled"
else
	not_ok "2: a C.UTF-8 database at version 8, filled" \
	    "$(tail -n 5 "$work/install-up8.out" 2>/dev/null)"
fi
check "2: ... its text columns sort by the locale before the upgrade" \
    test "$(not_c up8 | grep -c .)" -ge 30
before_views=$(psql_db up8 "SELECT (SELECT count(*) FROM route_events),
    (SELECT count(*) FROM recall_history)")
before_rows=$(psql_db up8 "SELECT (SELECT count(*) FROM route_event),
    (SELECT count(*) FROM recipients), (SELECT count(*) FROM messages)")

check "2: install.sql upgrades it" install_to up8 "$REPO/schema/install.sql"
check "2: ... to version 9" \
    test "$(psql_db up8 'SELECT max(version) FROM schema_version')" = 9
check "2: ... every text column now compares as bytes" test -z "$(not_c up8)"
check "2: ... no row lost" test "$(psql_db up8 "SELECT
    (SELECT count(*) FROM route_event), (SELECT count(*) FROM recipients),
    (SELECT count(*) FROM messages)")" = "$before_rows"
check "2: ... the views answer as before (500 events, 1 outcome)" \
    test "$(psql_db up8 "SELECT (SELECT count(*) FROM route_events),
    (SELECT count(*) FROM recall_history)")" = "$before_views"
check "2: ... ... and before, too" test "$before_views" = "500|1"
check "2: ... the views' columns carry the new collation" \
    test "$(psql_db up8 "SELECT collation_name FROM
    information_schema.columns WHERE table_name = 'route_events'
    AND column_name = 'queue_id'")" = C
check "2: ... recall_auditor may read them" psql_db up8 "SET ROLE
    recall_auditor; SELECT count(*) FROM route_events, recall_history"
check "2: ... recall_milter may not" \
    bash -c "! psql -X -At -h '$PGHOST' -U postgres -d up8 -c 'SET ROLE
    recall_milter; SELECT 1 FROM recall_history' >/dev/null 2>&1"
check "2: ... every index is valid and ready" test "$(psql_db up8 "SELECT
    count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND NOT (i.indisvalid AND i.indisready)")" = 0
check "2: ... a query by queue id uses route_event_queue" \
    bash -c "psql -X -At -h '$PGHOST' -U postgres -d up8 -c 'SET
    enable_seqscan = off; EXPLAIN SELECT id FROM route_event
    WHERE queue_id = \$\$Q3\$\$' | grep -q route_event_queue"
check "2: ... a copy's location uses route_event_dovecot_loc (source = ...)" bash -c "psql -X -At -h '$PGHOST' -U postgres -d up8 -c 'SET
    enable_seqscan = off; SET enable_bitmapscan = off; EXPLAIN SELECT id
    FROM route_event WHERE source = \$\$dovecot\$\$ AND copy_addr = \$\$bob\$\$
    AND mailbox = \$\$INBOX\$\$ AND uid = 3' | grep -q route_event_dovecot_loc"
check "2: ... the dedup key still refuses a duplicate" bash -c "
    psql -X -At -h '$PGHOST' -U postgres -d up8 -c \"INSERT INTO route_event
    (dedup_key, at, source, event) VALUES ('k7', now(), 'dovecot', 'x')\" 2>&1 |
    grep -q 'duplicate key value violates unique constraint'"
check "2: install.sql again: harmless" install_to up8 "$REPO/schema/install.sql"
check "2: ... still version 9 and the same rows" test "$(psql_db up8 "SELECT
    max(version) FROM schema_version")|$(psql_db up8 "SELECT
    count(*) FROM route_events")" = "9|500"

# ---- 3. a site's own view stops the upgrade, cleanly ------------------------
if mkdb own8 && install_to own8 "$work/v8/install.sql" && fill own8 &&
    psql_db own8 "CREATE VIEW site_queues AS SELECT DISTINCT queue_id
	FROM route_event" >/dev/null; then
	ok "3: a version-8 database with a view of the site's own"
else
	not_ok "3: a version-8 database with a view of the site's own"
fi
if install_to own8 "$REPO/schema/install.sql"; then
	not_ok "3: install.sql stops"
else
	ok "3: install.sql stops"
fi
check "3: ... with PostgreSQL's reason" grep -q \
    'cannot alter type of a column used by a view or rule' \
    "$work/install-own8.out"
check "3: ... the database is left at version 8" \
    test "$(psql_db own8 'SELECT max(version) FROM schema_version')" = 8
n_own=$(not_c own8 | grep -c .)
check "3: ... its text columns still sort by the locale" test "$n_own" -ge 30
check "3: ... its auditor views are still there" \
    test "$(psql_db own8 'SELECT count(*) FROM route_events')" = 500
check "3: without the view, the upgrade goes through" bash -c "
    psql -X -q -h '$PGHOST' -U postgres -d own8 -c 'DROP VIEW site_queues' &&
    psql -X -q -v ON_ERROR_STOP=1 -h '$PGHOST' -U postgres -d own8 \
	-f '$REPO/schema/install.sql' >/dev/null 2>&1"
check "3: ... version 9, every text column bytes" \
    test "$(psql_db own8 'SELECT max(version) FROM schema_version')|$(not_c own8)" = "9|"

done_testing

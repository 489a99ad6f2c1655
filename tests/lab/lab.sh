#!/bin/bash
# tests/lab/lab.sh - a private mail system on loopback for recall's tests.
#
# usage: lab.sh up DIR       create everything below DIR and start it
#        lab.sh down DIR     stop everything "up" started (safe to repeat)
#        lab.sh status DIR   show what runs; exit 0 when everything runs
#        lab.sh restart DIR milter|recalld   restart one of our programs
#                            (after a test edited DIR/etc/recall.conf)
#
# DIR is a fresh directory (mktemp -d /tmp/recall-lab.XXXXXX); keep it short,
# unix socket paths are limited to 107 bytes. "up" starts, on 127.0.0.1 only:
# PostgreSQL 15 (unix socket only), two smtp-sinks (ext.test accepts and
# dumps, defer.test answers 4xx to RCPT), Dovecot (IMAP, webmail IMAP, POP3,
# LMTP, doveadm HTTP API), recall-milter and recalld when built, and a
# self-contained Postfix. It writes DIR/env (sourceable variables).
# See tests/lab/README.md.
#
# Environment: LAB_NO_MILTER=1 (Postfix without the milter, the milter is
# not started), LAB_NO_RECALLD=1, LAB_NO_SCHEMA=1 (do not apply
# schema/install.sql), LAB_BIN_DIR (where recall-milter and recalld are;
# default build/bin of this repository; "down" and "restart" use the one
# "up" used), PG_BINDIR (default: the newest /usr/lib/postgresql/*/bin),
# LAB_EXTRA_USERS=N (N more mailboxes u00001@ .. uNNNNN@example.test,
# password = name + "pw"; for bench/recall), LAB_EVENTS=documented (the
# event filters of docs/dovecot.md instead of the unfiltered ones the
# tests read; for bench/recall), LAB_PG_SHARED_BUFFERS (PostgreSQL's
# shared_buffers, default 32MB so that many labs fit; for benchmarks),
# LAB_PG_LOCALE (the cluster's locale, default C; e.g. C.UTF-8 to measure
# what a site whose database sorts by a libc locale sees),
# LAB_DOVECOT_EXTRA (settings appended to dovecot.conf; for benchmarks of
# Dovecot's own settings).
# Runs as root. Every process it starts is recorded and stopped by "down";
# nothing else is touched.

set -u
umask 022
export LC_ALL=C
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
# The caller's libpq settings must not leak into the lab.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE \
    PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PORT_LOCKS=/tmp/recall-lab-ports
VMAIL_USER=recallvm
LAB_USERS="alice bob carol dave erin recall"
BIN_DIR=${LAB_BIN_DIR:-$REPO/build/bin}

note() { echo "# $*"; }

# extra_users: the names of LAB_EXTRA_USERS bench mailboxes, one a line.
extra_users() {
	local n=${LAB_EXTRA_USERS:-0}
	case "$n" in *[!0-9]*|'') die "LAB_EXTRA_USERS must be a number" ;; esac
	[ "$n" -gt 0 ] && seq -f 'u%05g' 1 "$n"
	return 0
}
# dovecot_metrics: the event exporter's metrics (see LAB_EVENTS above).
dovecot_metrics() {
	if [ "${LAB_EVENTS:-}" = documented ]; then
		cat <<'EOM'
metric recall_mail_opened {
  exporter = log
  filter = event=mail_opened AND (reason_code=imap:fetch_body OR reason_code=pop3:cmd_retr OR reason_code=pop3:cmd_top) AND NOT category=service:doveadm
}
metric recall_auth_finished {
  exporter = log
  filter = event=auth_client_request_finished
}
EOM
		return
	fi
	cat <<'EOM'
metric recall_mail_opened {
  exporter = log
  filter = event=mail_opened
}
metric recall_auth_finished {
  exporter = log
  filter = event=auth_client_request_finished
}
metric recall_mail_expunged {
  exporter = log
  filter = event=mail_expunged
}
EOM
}
err() { echo "# lab: $*" >&2; }
die() { err "error: $*"; exit 1; }

usage() {
	echo "usage: $0 up|down|status DIR | restart DIR milter|recalld" >&2
	exit 64
}

# ---- small helpers -------------------------------------------------------

now_ms() { date +%s%3N; }

# proc_start PID: the process start time (jiffies since boot); fails when
# PID does not run. A zombie does not run: our daemons are reparented to
# init when lab.sh exits, and init may take seconds to reap them.
proc_start() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	case "$1" in Z|X|x) return 1 ;; esac
	echo "${20}"
}

# alive PID [START]: PID runs (and, given START, is the same process).
alive() {
	local st
	[ -n "$1" ] || return 1
	st=$(proc_start "$1") || return 1
	[ -z "${2:-}" ] || [ "$st" = "$2" ]
}

# write_pid NAME PID: record PID and its start time in $D/run/NAME.pid.
write_pid() {
	echo "$2 $(proc_start "$2")" > "$D/run/$1.pid"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local n=$(( $1 * 10 ))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	"$@"
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# listening PORT: something listens on 127.0.0.1:PORT. Asks ss(8) when it is
# there, so that the check leaves no "connect from"/"disconnected" lines in
# the logs the daemon follows.
listening() {
	if command -v ss >/dev/null 2>&1; then
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
	else
		tcp_open "$1"
	fi
}
# port_free PORT: no socket uses PORT. (21000-29900 lies below Linux's
# ephemeral range, so client connections do not take our ports.)
port_free() {
	if command -v ss >/dev/null 2>&1; then
		! ss -Htan "sport = :$1" 2>/dev/null | grep -q .
	else
		! tcp_open "$1"
	fi
}

# show_log FILE [N]: the last N lines of FILE as "# " lines on stderr.
show_log() {
	[ -f "$1" ] || return 0
	echo "# --- tail of $1" >&2
	tail -n "${2:-15}" "$1" | sed 's/^/#   /' >&2
}

pg_bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
		return
	fi
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_postgres() {
	(cd "$D/pg" && runuser -u postgres -- "$@")
}

# ---- port claim ----------------------------------------------------------
# Seven ports BASE..BASE+6 with BASE in 21000..29900 step 20. The claim is the
# directory $PORT_LOCKS/BASE (mkdir is atomic) holding the owner lab's path.

claim_ports() {
	local try base lock owner p ok
	mkdir -p "$PORT_LOCKS" 2>/dev/null
	for try in $(seq 1 60); do
		base=$(( 21000 + (RANDOM % 446) * 20 ))
		lock=$PORT_LOCKS/$base
		if ! mkdir "$lock" 2>/dev/null; then
			owner=$(cat "$lock/owner" 2>/dev/null)
			# A claim whose lab is gone is stale: clear it and pick again.
			if [ -n "$owner" ] && [ ! -e "$owner/run/port-claim" ] &&
			    mv "$lock" "$lock.stale.$$" 2>/dev/null; then
				rm -rf "$lock.stale.$$"
			fi
			continue
		fi
		# port-claim before owner: a claim whose owner is written but
		# whose lab has no port-claim file is stale (see above).
		echo "$lock" > "$D/run/port-claim"
		echo "$D" > "$lock/owner"
		ok=1
		for p in $(seq "$base" $((base + 6))); do
			port_free "$p" || { ok=0; break; }
		done
		if [ "$ok" = 1 ]; then
			BASE=$base
			return 0
		fi
		rm -rf "$lock"
		rm -f "$D/run/port-claim"
	done
	die "no free block of ports found"
}

release_ports() {
	local lock
	[ -f "$D/run/port-claim" ] || return 0
	lock=$(cat "$D/run/port-claim")
	if [ "$(cat "$lock/owner" 2>/dev/null)" = "$D" ]; then
		rm -rf "$lock"
	fi
	rm -f "$D/run/port-claim"
}

set_ports() {
	SMTP_PORT=$BASE
	IMAP_PORT=$((BASE + 1))
	WEBMAIL_PORT=$((BASE + 2))
	POP3_PORT=$((BASE + 3))
	DOVEADM_PORT=$((BASE + 4))
	SINK_PORT=$((BASE + 5))
	DEFER_PORT=$((BASE + 6))
}

# ---- configuration -------------------------------------------------------

ensure_vmail_user() {
	if ! id -u "$VMAIL_USER" >/dev/null 2>&1; then
		useradd -r -M -s /usr/sbin/nologin "$VMAIL_USER" 2>/dev/null
		# Another lab may have created it at the same moment.
		id -u "$VMAIL_USER" >/dev/null 2>&1 ||
		    die "cannot create user $VMAIL_USER"
	fi
}

make_dirs() {
	mkdir -p "$D"/{etc,bin,log,run,spool/recall,sink,mail,pg/sock} \
	    "$D"/dovecot/{run,state} "$D"/postfix/{etc,spool,data} ||
	    die "cannot create directories below $D"
	chmod 755 "$D" "$D"/{etc,bin,log,run,mail,sink}
	chmod 700 "$D/spool/recall"
	chown postfix "$D/postfix/data"
	chown -R postgres "$D/pg"
	chown nobody "$D/sink"
	chown "$VMAIL_USER:$VMAIL_USER" "$D/mail"
	: > "$D/log/maillog"
	: > "$D/log/dovecot.log"
	install -m 644 -o postgres /dev/null "$D/log/postgres.log"
}

write_secrets() {
	# The tag key: one line of 64 hex digits; the doveadm API key.
	(umask 077
	 od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$D/etc/tag.key"
	 echo >> "$D/etc/tag.key"
	 # No newline after the API key: dovecot.conf reads it with
	 # "doveadm_api_key = <FILE", which keeps a trailing newline.
	 od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$D/etc/doveadm.key")
	DOVEADM_KEY_VALUE=$(head -n 1 "$D/etc/doveadm.key")
}

write_recall_conf() {
	cat > "$D/etc/recall.conf" <<EOF
# recall.conf for the lab in $D (written by tests/lab/lab.sh).
# One file serves all programs, so conninfo names no role: each program
# connects as its own role (recall_milter, recalld) by default; the lab
# starts them without PGUSER. Authentication: trust on the socket.
database = { conninfo = "host=$D/pg/sock dbname=recall"; };
local_domains = [ "example.test" ];
mailing_lists = [ "lists.example.test" ];
tag = { key_file = "$D/etc/tag.key"; };
milter = {
  socket = "unix:$D/run/milter.sock";
  socket_group = "postfix";                 # Postfix connects as user postfix
  internal_networks = [ "127.0.0.1/32" ];   # 127.0.0.5 etc. count as outside
  spool_dir = "$D/spool/recall";
  on_db_error = "spool";
  recall_address = "recall@example.test";
  hold_external = 0;
};
recalld = {
  control_socket = "$D/run/recalld.sock";
  admins = [ "root" ];
  report_sender = "postmaster@example.test";
  sendmail = "$D/bin/sendmail";
};
store = {
  doveadm_url = "http://127.0.0.1:$DOVEADM_PORT/doveadm/v1";
  doveadm_key_file = "$D/etc/doveadm.key";
  dovecot_user = "%n";
};
events = {
  postfix_log = "$D/log/maillog";
  dovecot_log = "$D/log/dovecot.log";
  inside_hosts = [ ];
  inside_ports = [ $WEBMAIL_PORT ];        # the imap_webmail listener
  sync_gateways = [ "127.0.0.3" ];
};
policy = {
  max_age = 86400;
  recall_read = false;
  opt_out = [ ];
  quarantine_days = 30;
};
EOF
	cat > "$D/bin/sendmail" <<EOF
#!/bin/sh
# sendmail for the lab's Postfix instance (recalld.sendmail).
exec /usr/sbin/sendmail -C '$D/postfix/etc' "\$@"
EOF
	chmod 755 "$D/bin/sendmail"
}

write_dovecot_conf() {
	local u uid gid
	uid=$(id -u "$VMAIL_USER")
	gid=$(id -g "$VMAIL_USER")
	: > "$D/etc/dovecot-users"
	for u in $LAB_USERS; do
		# user:password:uid:gid:gecos:home:shell:extra - userdb fields
		# stay empty and come from default_fields.
		echo "$u:${u}pw::::::" >> "$D/etc/dovecot-users"
	done
	extra_users | sed 's/.*/&:&pw::::::/' >> "$D/etc/dovecot-users"
	chown root:dovecot "$D/etc/dovecot-users"
	chmod 640 "$D/etc/dovecot-users"

	cat > "$D/etc/dovecot.conf" <<EOF
# Dovecot for the lab in $D (written by tests/lab/lab.sh).
instance_name = recall-lab-${D##*/}
base_dir = $D/dovecot/run
state_dir = $D/dovecot/state
protocols = imap pop3 lmtp
listen = 127.0.0.1
log_path = $D/log/dovecot.log
info_log_path = $D/log/dovecot.log
debug_log_path = $D/log/dovecot.log
verbose_proctitle = yes
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login

# Users are local parts: "bob" and "bob@example.test" are the same user
# for IMAP, POP3, LMTP and doveadm.
auth_username_format = %n
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $D/etc/dovecot-users
}
userdb {
  driver = passwd-file
  args = username_format=%n $D/etc/dovecot-users
  default_fields = uid=$VMAIL_USER gid=$VMAIL_USER home=$D/mail/%n
}
mail_location = maildir:~/Maildir
mail_uid = $VMAIL_USER
mail_gid = $VMAIL_USER
first_valid_uid = $uid
first_valid_gid = $gid
namespace inbox {
  inbox = yes
  separator = /
}
lmtp_save_to_detail_mailbox = no

mail_plugins = \$mail_plugins notify mail_log
mail_log_prefix = "%s(%u)<%{pid}><%{session}><rip=%{rip}><lip=%{lip}><auth=%{auth_user}>: "
plugin {
  mail_log_events = delete undelete expunge copy mailbox_delete mailbox_rename save flag_change append mailbox_create
  mail_log_fields = uid box msgid size vsize flags from subject
}

# Events for recalld, as JSON lines in log_path ("stats: Info: {...}").
event_exporter log {
  format = json
  format_args = time-rfc3339
  transport = log
}
$(dovecot_metrics)

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
  inet_listener imap_webmail {
    address = 127.0.0.1
    port = $WEBMAIL_PORT
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    user = postfix
    group = postfix
    mode = 0600
  }
}
# SASL for Postfix smtpd (swaks --auth PLAIN ...).
service auth {
  unix_listener smtpd-auth {
    user = postfix
    group = postfix
    mode = 0600
  }
  # doveadm lists users (recalld's wildcard commands, docs/dovecot.md)
  # after it has switched to the mail user: the listener must be that
  # user's, or Dovecot refuses the listing.
  unix_listener auth-userdb {
    user = $VMAIL_USER
    mode = 0600
  }
}
doveadm_api_key = <$D/etc/doveadm.key
service doveadm {
  inet_listener http {
    address = 127.0.0.1
    port = $DOVEADM_PORT
  }
}
${LAB_DOVECOT_EXTRA:-}
EOF
}

write_postfix_conf() {
	local e=$D/postfix/etc cmac mmac milters=""
	cmac="$(postconf -dh milter_connect_macros) {client_addr}"
	mmac="$(postconf -dh milter_mail_macros) {client_addr}"
	[ "$USE_MILTER" = 1 ] && milters="unix:$D/run/milter.sock"

	cat > "$e/main.cf" <<EOF
# Postfix for the lab in $D (written by tests/lab/lab.sh).
# NB: no trailing comments in main.cf, they become part of the value.
compatibility_level = 3.6
queue_directory = $D/postfix/spool
data_directory = $D/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.lab.test
mydomain = lab.test
myorigin = \$myhostname
mydestination = \$myhostname, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
biff = no
append_dot_mydomain = no
readme_directory = no
recipient_delimiter = +
maillog_file = $D/log/maillog
maillog_file_prefixes = $D/log
alias_maps = texthash:$e/aliases
alias_database =

virtual_mailbox_domains = example.test
virtual_mailbox_maps = texthash:$e/vmailbox
virtual_alias_maps = texthash:$e/virtual
virtual_transport = lmtp:unix:$D/dovecot/run/lmtp
transport_maps = texthash:$e/transport
relayhost = [127.0.0.1]:$SINK_PORT

# Tests: XCLIENT LOGIN=user from loopback simulates an authenticated
# client; real SMTP AUTH PLAIN goes to Dovecot (password = name + "pw").
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $D/dovecot/run/smtpd-auth

smtpd_milters = $milters
non_smtpd_milters = $milters
milter_default_action = tempfail
milter_connect_macros = $cmac
milter_mail_macros = $mmac

queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
EOF

	cat > "$e/master.cf" <<EOF
# service type private unpriv chroot wakeup maxproc command
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

	{
		for u in alice bob carol dave erin recall; do
			echo "$u@example.test OK"
		done
		extra_users | sed 's/.*/&@example.test OK/'
	} > "$e/vmailbox"
	cat > "$e/virtual" <<EOF
team@example.test bob@example.test, carol@example.test
fwd@example.test outside@ext.test
all-staff@example.test list@lists.example.test
postmaster@example.test alice@example.test
EOF
	cat > "$e/transport" <<EOF
ext.test smtp:[127.0.0.1]:$SINK_PORT
lists.example.test smtp:[127.0.0.1]:$SINK_PORT
defer.test smtp:[127.0.0.1]:$DEFER_PORT
EOF
	# local(8) mail (bounces to postmaster, root) ends up with alice.
	cat > "$e/aliases" <<EOF
postmaster postmaster@example.test
root postmaster@example.test
mailer-daemon postmaster@example.test
EOF
}

# ---- start ---------------------------------------------------------------

start_pg() {
	local bin
	bin=$(pg_bindir)
	[ -x "$bin/initdb" ] || die "PostgreSQL server binaries not found (PG_BINDIR)"
	as_postgres "$bin/initdb" -D "$D/pg/data" -U postgres -A trust \
	    -E UTF8 --locale="${LAB_PG_LOCALE:-C}" --no-sync --no-instructions \
	    >> "$D/log/lab.log" 2>&1 ||
	    { show_log "$D/log/lab.log"; die "initdb failed"; }
	cat >> "$D/pg/data/postgresql.conf" <<EOF
# recall lab
listen_addresses = ''
unix_socket_directories = '$D/pg/sock'
port = 5432
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = ${LAB_PG_SHARED_BUFFERS:-32MB}
max_connections = 100
EOF
	as_postgres "$bin/pg_ctl" -D "$D/pg/data" -l "$D/log/postgres.log" \
	    -w -t 30 start >> "$D/log/lab.log" 2>&1 ||
	    { show_log "$D/log/postgres.log"; die "PostgreSQL did not start"; }
	psql -X -q -v ON_ERROR_STOP=1 -h "$D/pg/sock" -U postgres -d postgres \
	    -c "CREATE DATABASE recall" >> "$D/log/lab.log" 2>&1 ||
	    { show_log "$D/log/lab.log"; die "CREATE DATABASE failed"; }
	if [ "${LAB_NO_SCHEMA:-0}" = 1 ]; then
		note "LAB_NO_SCHEMA=1: schema/install.sql not applied"
	elif [ -f "$REPO/schema/install.sql" ]; then
		(cd "$REPO" && psql -X -q -v ON_ERROR_STOP=1 -h "$D/pg/sock" \
		    -U postgres -d recall -f schema/install.sql) \
		    > "$D/log/schema.log" 2>&1 ||
		    { show_log "$D/log/schema.log" 30; die "schema/install.sql failed"; }
	else
		note "schema/install.sql not found: database recall is empty"
	fi
}

start_sinks() {
	local pid
	smtp-sink -u nobody -d "$D/sink/%Y%m%d%H/%M." "127.0.0.1:$SINK_PORT" 64 \
	    < /dev/null >> "$D/log/sink.log" 2>&1 &
	pid=$!
	write_pid sink "$pid"
	smtp-sink -u nobody -r RCPT "127.0.0.1:$DEFER_PORT" 64 \
	    < /dev/null >> "$D/log/sink.log" 2>&1 &
	write_pid defer-sink "$!"
	wait_for 5 listening "$SINK_PORT" && wait_for 5 listening "$DEFER_PORT" ||
	    { show_log "$D/log/sink.log"; die "smtp-sink did not start"; }
}

start_dovecot() {
	local p
	doveconf -c "$D/etc/dovecot.conf" -n > /dev/null 2> "$D/log/doveconf.err" ||
	    { show_log "$D/log/doveconf.err"; die "dovecot.conf is invalid"; }
	dovecot -c "$D/etc/dovecot.conf" < /dev/null >> "$D/log/lab.log" 2>&1 ||
	    { show_log "$D/log/lab.log"; show_log "$D/log/dovecot.log";
	      die "Dovecot did not start"; }
	for p in "$IMAP_PORT" "$WEBMAIL_PORT" "$POP3_PORT" "$DOVEADM_PORT"; do
		wait_for 10 listening "$p" ||
		    { show_log "$D/log/dovecot.log"; die "Dovecot is not listening on $p"; }
	done
	wait_for 5 test -S "$D/dovecot/run/lmtp" ||
	    die "Dovecot's LMTP socket is missing"
}

# start_prog NAME PGROLE SOCKET: start $BIN_DIR/NAME in the foreground mode
# in the background, wait for SOCKET.
start_prog() {
	local name=$1 role=$2 sock=$3 pid
	rm -f "$sock"
	env -u PGHOST -u PGDATABASE -u PGUSER \
	    "$BIN_DIR/$name" -f -c "$D/etc/recall.conf" \
	    < /dev/null >> "$D/log/$name.log" 2>&1 &
	pid=$!
	write_pid "$name" "$pid"
	# Wait for the socket, or for the program to die.
	if ! wait_for 10 eval "[ -S \"\$sock\" ] || ! alive $pid" ||
	    [ ! -S "$sock" ]; then
		show_log "$D/log/$name.log"
		alive "$pid" || die "$name exited at startup"
		die "$name did not create $sock within 10 s"
	fi
}

start_milter() {
	local sock=$D/run/milter.sock
	start_prog recall-milter recall_milter "$sock"
	if ! runuser -u postfix -- test -w "$sock"; then
		die "postfix cannot write $sock ($(stat -c '%A %U:%G' "$sock")): milter.socket_group/socket_mode not applied"
	fi
}

start_postfix() {
	local e=$D/postfix/etc
	postfix -c "$e" check >> "$D/log/lab.log" 2>&1 ||
	    { show_log "$D/log/maillog"; die "postfix check failed"; }
	postfix -c "$e" start >> "$D/log/lab.log" 2>&1 ||
	    { show_log "$D/log/maillog"; die "Postfix did not start"; }
	wait_for 10 listening "$SMTP_PORT" ||
	    { show_log "$D/log/maillog"; die "Postfix is not listening on $SMTP_PORT"; }
}

write_env() {
	local tmp=$D/env.tmp
	{
		echo "# recall lab in $D (tests/lab/lab.sh up); source this file."
		printf "export %s='%s'\n" \
		    LAB "$D" \
		    REPO "$REPO" \
		    PGHOST "$D/pg/sock" \
		    PGPORT 5432 \
		    PGDATABASE recall \
		    SMTP_PORT "$SMTP_PORT" \
		    IMAP_PORT "$IMAP_PORT" \
		    WEBMAIL_PORT "$WEBMAIL_PORT" \
		    POP3_PORT "$POP3_PORT" \
		    DOVEADM_PORT "$DOVEADM_PORT" \
		    DOVEADM_URL "http://127.0.0.1:$DOVEADM_PORT/doveadm/v1" \
		    SINK_PORT "$SINK_PORT" \
		    DEFER_PORT "$DEFER_PORT" \
		    SINK_DIR "$D/sink" \
		    RECALL_CONF "$D/etc/recall.conf" \
		    RECALLD_SOCKET "$D/run/recalld.sock" \
		    POSTFIX_CONF "$D/postfix/etc" \
		    DOVECOT_CONF "$D/etc/dovecot.conf" \
		    DOVEADM_KEY "$DOVEADM_KEY_VALUE" \
		    DOVEADM_KEY_FILE "$D/etc/doveadm.key" \
		    TAG_KEY_FILE "$D/etc/tag.key" \
		    MAILLOG "$D/log/maillog" \
		    DOVECOT_LOG "$D/log/dovecot.log" \
		    LAB_MILTER "$USE_MILTER" \
		    LAB_RECALLD "$USE_RECALLD" \
		    LAB_BIN_DIR "$BIN_DIR"
	} > "$tmp" && mv "$tmp" "$D/env"
}

cmd_up() {
	local t0 t1 m=$BIN_DIR/recall-milter r=$BIN_DIR/recalld
	t0=$(now_ms)
	[ "$(id -u)" = 0 ] || die "lab.sh must run as root"
	for c in postfix postconf dovecot doveadm smtp-sink psql runuser; do
		command -v "$c" > /dev/null ||
		    die "$c not found: run scripts/deps.sh"
	done
	mkdir -p "$D" || die "cannot create $D"
	D=$(cd "$D" && pwd)
	[ ! -e "$D/env" ] && [ ! -e "$D/run/port-claim" ] ||
	    die "$D already holds a lab (lab.sh down it, or use a fresh directory)"
	[ ${#D} -le 60 ] || die "$D is too long for unix socket paths"

	USE_MILTER=1
	if [ "${LAB_NO_MILTER:-0}" = 1 ]; then
		USE_MILTER=0
		note "LAB_NO_MILTER=1: no milter"
	elif [ ! -x "$m" ]; then
		USE_MILTER=0
		note "$m not built: Postfix runs without the milter"
	fi
	USE_RECALLD=1
	if [ "${LAB_NO_RECALLD:-0}" = 1 ]; then
		USE_RECALLD=0
		note "LAB_NO_RECALLD=1: no recalld"
	elif [ ! -x "$r" ]; then
		USE_RECALLD=0
		note "$r not built: not started"
	fi

	# From here on, a failure stops what was started.
	trap 'err "up failed, stopping what was started (logs stay in $D/log)"; cmd_down >&2' EXIT

	ensure_vmail_user
	make_dirs
	echo "$BIN_DIR" > "$D/run/bin-dir"
	claim_ports
	set_ports
	write_secrets
	write_recall_conf
	write_dovecot_conf
	write_postfix_conf

	start_pg
	start_sinks
	start_dovecot
	[ "$USE_MILTER" = 1 ] && start_milter
	start_postfix
	[ "$USE_RECALLD" = 1 ] && start_prog recalld recalld "$D/run/recalld.sock"
	write_env
	trap - EXIT
	t1=$(now_ms)
	note "lab up in $D ($(( (t1 - t0) / 1000 )).$(printf %03d $(( (t1 - t0) % 1000 ))) s):" \
	    "smtp $SMTP_PORT imap $IMAP_PORT webmail $WEBMAIL_PORT pop3 $POP3_PORT" \
	    "doveadm $DOVEADM_PORT sink $SINK_PORT defer $DEFER_PORT" \
	    "milter $USE_MILTER recalld $USE_RECALLD"
}

# ---- stop ----------------------------------------------------------------

# pidfile_pid NAME: "PID START" from $D/run/NAME.pid when that process still
# runs; nothing otherwise.
pidfile_pid() {
	local f=$D/run/$1.pid pid st
	[ -f "$f" ] || return 1
	read -r pid st < "$f"
	[ -n "$st" ] && alive "$pid" "$st" && echo "$pid $st"
}

# stop_pidfiles NAME...: TERM the processes in NAME.pid (only when each is
# still the process that was recorded), wait for them, KILL after 6 s.
# (libmilter's listener notices a stop only when its 5 s poll times out, so a
# milter needs up to 5 s to exit on TERM.)
stop_pidfiles() {
	local name p pids="" n left
	for name in "$@"; do
		if p=$(pidfile_pid "$name"); then
			set -- $p
			kill -TERM "$1" 2>/dev/null
			pids="$pids $1:$2:$name"
		fi
	done
	n=60
	while :; do
		left=""
		for p in $pids; do
			alive "${p%%:*}" "$(echo "$p" | cut -d: -f2)" && left="$left $p"
		done
		[ -z "$left" ] || [ $n -le 0 ] && break
		sleep 0.1
		n=$((n - 1))
	done
	for p in $left; do
		note "${p##*:} (${p%%:*}) did not stop on TERM within 6 s, sending KILL"
		kill -KILL "${p%%:*}" 2>/dev/null
	done
	for name in "$@"; do
		rm -f "$D/run/$name.pid"
	done
}

# leftovers: processes of the lab's programs whose working directory is
# below $D (Postfix daemons live in the queue directory, Dovecot's in
# base_dir, PostgreSQL's in the data directory; imap/pop3 in a mail home).
leftovers() {
	local p cwd exe
	find /proc -mindepth 2 -maxdepth 2 -name cwd -printf '%h %l\n' 2>/dev/null |
	while read -r p cwd; do
		case "$cwd" in "$D"|"$D"/*) ;; *) continue ;; esac
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case "$exe" in
		/usr/lib/postfix/*|/usr/sbin/postfix|/usr/sbin/dovecot|\
		/usr/lib/dovecot/*|/usr/bin/doveadm|/usr/lib/postgresql/*|\
		/usr/sbin/smtp-sink|"$BIN_DIR"/*)
			echo "${p#/proc/}" ;;
		esac
	done
}

# pid_entry PID: "PID:START" for a running PID (nothing otherwise); see
# still_running.
pid_entry() {
	local st
	[ -n "$1" ] && st=$(proc_start "$1") && echo "$1:$st"
}

# still_running ENTRY...: the PIDs of the "PID:START" entries that still run
# (a PID reused by another process does not count).
still_running() {
	local p
	for p in "$@"; do
		alive "${p%%:*}" "${p#*:}" && echo "${p%%:*}"
	done
}

cmd_down() {
	local pid n left e=$D/postfix/etc waitfor="" t0 t1
	[ -d "$D" ] || { note "$D does not exist"; return 0; }
	# Finish the job even when the reader of our output or the user goes.
	trap '' INT HUP PIPE
	t0=$(now_ms)

	# Dovecot's master takes ~3 s to exit and a libmilter filter up to 5 s,
	# so TERM all of them at once and wait afterwards. PostgreSQL goes
	# last: recalld and the milter may write to it while they stop.
	pid=$(cat "$D/dovecot/run/master.pid" 2>/dev/null)
	if [ -n "$pid" ] && alive "$pid" &&
	    [ "$(readlink "/proc/$pid/cwd")" = "$D/dovecot/run" ]; then
		waitfor="$waitfor $(pid_entry "$pid")"
		kill -TERM "$pid"       # what "doveadm stop" does, without its wait
	fi
	for n in sink defer-sink; do
		if pid=$(pidfile_pid "$n"); then
			kill -TERM "${pid% *}" 2>/dev/null
			waitfor="$waitfor ${pid/ /:}"
		fi
	done
	if [ -f "$e/main.cf" ] && [ -d "$D/postfix/spool" ] &&
	    postfix -c "$e" status > /dev/null 2>&1; then
		pid=$(tr -dc 0-9 < "$D/postfix/spool/pid/master.pid" 2>/dev/null)
		waitfor="$waitfor $(pid_entry "$pid")"
		postfix -c "$e" stop >> "$D/log/lab.log" 2>&1
	fi
	stop_pidfiles recalld recall-milter
	if [ -f "$D/pg/data/postmaster.pid" ]; then
		pid=$(head -n 1 "$D/pg/data/postmaster.pid")
		waitfor="$waitfor $(pid_entry "$pid")"
		as_postgres "$(pg_bindir)/pg_ctl" -D "$D/pg/data" -m fast -W \
		    stop >> "$D/log/lab.log" 2>&1
	fi

	# Wait for the masters and their children (10 s), then KILL.
	n=100
	while [ $n -gt 0 ]; do
		left=$(still_running $waitfor)
		[ -z "$left" ] && left=$(leftovers)
		[ -z "$left" ] && break
		sleep 0.1
		n=$((n - 1))
	done
	if [ -n "$left" ]; then
		left=$( (still_running $waitfor; leftovers) | sort -u)
		note "killing lab processes still running after 10 s:" $left
		kill -KILL $left 2>/dev/null
		sleep 0.3
	fi
	rm -f "$D/run/sink.pid" "$D/run/defer-sink.pid"
	release_ports
	left=$(leftovers)
	if [ -n "$left" ]; then
		err "processes still running below $D:" $left
		return 1
	fi
	t1=$(now_ms)
	note "lab down in $D ($(( (t1 - t0) / 1000 )).$(printf %03d $(( (t1 - t0) % 1000 ))) s)"
	return 0
}

# ---- status --------------------------------------------------------------

cmd_status() {
	local rc=0 f pid st name
	[ -f "$D/env" ] || { note "$D: no lab (no env file)"; return 1; }
	. "$D/env"
	# show NAME CMD...: "up" when CMD succeeds.
	show() {
		local name=$1
		shift
		if "$@" > /dev/null 2>&1; then
			printf '%-14s up\n' "$name"
		else
			printf '%-14s DOWN\n' "$name"
			rc=1
		fi
	}
	show postgresql as_postgres "$(pg_bindir)/pg_ctl" -D "$D/pg/data" status
	show dovecot listening "$IMAP_PORT"
	show postfix postfix -c "$POSTFIX_CONF" status
	show smtp listening "$SMTP_PORT"
	for name in sink defer-sink recall-milter recalld; do
		f=$D/run/$name.pid
		if [ -f "$f" ]; then
			read -r pid st < "$f"
			if alive "$pid" "$st"; then
				printf '%-14s up (pid %s)\n' "$name" "$pid"
			else
				printf '%-14s DOWN\n' "$name"
				rc=1
			fi
		else
			printf '%-14s not started\n' "$name"
		fi
	done
	echo "ports: smtp $SMTP_PORT imap $IMAP_PORT webmail $WEBMAIL_PORT" \
	    "pop3 $POP3_PORT doveadm $DOVEADM_PORT sink $SINK_PORT defer $DEFER_PORT"
	return $rc
}

cmd_restart() {
	[ -f "$D/env" ] || die "$D: no lab"
	. "$D/env"
	case "${1:-}" in
	milter)
		[ "$LAB_MILTER" = 1 ] ||
		    die "this lab runs without the milter (Postfix is not configured for it)"
		stop_pidfiles recall-milter
		start_milter ;;
	recalld)
		stop_pidfiles recalld
		start_prog recalld recalld "$D/run/recalld.sock" ;;
	*) usage ;;
	esac
}

[ $# -ge 2 ] || usage
CMD=$1
D=${2%/}
if [ "$CMD" != up ] && [ -s "$D/run/bin-dir" ]; then
	BIN_DIR=$(cat "$D/run/bin-dir")
fi
case "$CMD" in
up) cmd_up ;;
down)
	D=$(cd "$D" 2>/dev/null && pwd) || { note "$2 does not exist"; exit 0; }
	cmd_down ;;
status)
	D=$(cd "$D" && pwd) || exit 1
	cmd_status ;;
restart)
	D=$(cd "$D" && pwd) || exit 1
	cmd_restart "${3:-}" ;;
*) usage ;;
esac

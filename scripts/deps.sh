#!/bin/sh
# scripts/deps.sh - install what building and testing recall needs (Debian 12).
#
# Idempotent: when every package is already installed it exits 0 at once.
# Otherwise, as root, it runs "apt-get update" once and installs the
# missing packages non-interactively; as another user it prints the
# command to run and exits 1.
#
# The packages' own service starts are harmless: the test lab
# (tests/lab/lab.sh) runs private instances of PostgreSQL, Postfix and
# Dovecot and never uses the system-wide ones.

PACKAGES="build-essential pkg-config clang libclang-rt-14-dev
postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd
postgresql postgresql-client libmilter-dev miltertest
libconfig-dev libpq-dev libssl-dev libcurl4-openssl-dev libjansson-dev
swaks curl jq openssl python3 sasl2-bin procps iproute2 ca-certificates"

# installed PKG: true when PKG, or a versioned package of that name
# (postgresql-client -> postgresql-client-15), is installed.
installed() {
	dpkg-query -W -f='${db:Status-Status}\n' "$1" "$1-[0-9]*" 2>/dev/null |
	    grep -qx installed
}

missing=""
for p in $PACKAGES; do
	installed "$p" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	exit 0
fi

echo "deps.sh: missing:$missing"
cmd="DEBIAN_FRONTEND=noninteractive apt-get install -y$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: run as root:"
	echo "  apt-get update"
	echo "  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections"
	echo "  $cmd"
	exit 1
fi

set -e
apt-get update
echo "postfix postfix/main_mailer_type select No configuration" |
    debconf-set-selections
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y $missing

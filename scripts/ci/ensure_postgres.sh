#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for user postgres.
# Uses the one the machine runs; otherwise installs Debian's package and starts a loopback-only cluster.
set -euo pipefail
ready() { python3 - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect(("127.0.0.1", 5432)); print("PostgreSQL is listening on 127.0.0.1:5432")
except OSError:
    sys.exit(1)
PY
}
if ready; then exit 0; fi
if ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "starting the installed cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
fi
if [ "$(id -u)" != 0 ]; then echo "PostgreSQL is not running and installing it needs root" >&2; exit 1; fi
echo "installing PostgreSQL from Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
data=/var/lib/postgresql/hantu-ci
if [ ! -d "$data" ]; then
  install -d -o postgres -g postgres "$data"
  su postgres -c "/usr/lib/postgresql/$version/bin/initdb -D $data -A trust -U postgres" >/dev/null
fi
su postgres -c "/usr/lib/postgresql/$version/bin/pg_ctl -D $data -l $data/server.log -o \"-c listen_addresses=127.0.0.1 -p 5432\" -w start"
ready

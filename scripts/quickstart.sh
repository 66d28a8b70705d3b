#!/usr/bin/env bash
# From a fresh Debian 12 machine (as root) to a running runvoy doing its job: installs the
# packages, builds and installs runvoy, starts the server on 127.0.0.1:56212 with the embedded
# default (local sandbox + SQLite), seeds an admin, configures the CLI and runs a command.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data_dir=${RUNVOY_DATA_DIR:-/var/lib/runvoy}
listen=${RUNVOY_LISTEN:-127.0.0.1:56212}
admin=${RUNVOY_ADMIN_EMAIL:-admin@example.com}

bash "$root/scripts/install-deps.sh"
BUILD_DIR="$root/build" bash "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRUNVOY_BUILD_TESTS=OFF
install -m 0755 "$root/build/src/runvoy" /usr/local/bin/runvoy

mkdir -p "$data_dir"
if [[ -f "$data_dir/server.pid" ]] && kill -0 "$(cat "$data_dir/server.pid")" 2>/dev/null; then
  echo "stopping the runvoy server started earlier (pid $(cat "$data_dir/server.pid"))"
  kill "$(cat "$data_dir/server.pid")"
  while kill -0 "$(cat "$data_dir/server.pid")" 2>/dev/null; do sleep 0.1; done
fi

# The server prints "admin api key: ..." once, when it creates the admin, then "listening on".
RUNVOY_CONFIG=none nohup runvoy server --listen "$listen" --data-dir "$data_dir" \
  --seed-admin "$admin" >"$data_dir/server.out" 2>"$data_dir/server.log" &
echo $! >"$data_dir/server.pid"
for _ in $(seq 1 100); do grep -q '^listening on ' "$data_dir/server.out" && break; sleep 0.1; done
grep '^listening on ' "$data_dir/server.out" || { cat "$data_dir/server.log"; exit 1; }
endpoint=$(sed -n 's/^listening on //p' "$data_dir/server.out")
key=$(sed -n 's/^admin api key: //p' "$data_dir/server.out")
if [[ -z "$key" ]]; then
  # The admin exists from an earlier run: give it a fresh key (the old one stays unknown here).
  key=$(runvoy server reset-admin "$admin" --data-dir "$data_dir" --config none |
        sed -n 's/^admin api key: //p')
fi

runvoy configure --endpoint "$endpoint" --api-key "$key"
runvoy health
runvoy users list
runvoy images register host --default
runvoy run "uname -a; id; hostname"
echo
echo "runvoy is running at $endpoint (pid $(cat "$data_dir/server.pid"), logs in $data_dir/server.log)"

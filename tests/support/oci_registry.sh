#!/usr/bin/env bash
# A throwaway OCI registry (Debian's docker-registry) on 127.0.0.1 for the image tests.
#   oci_registry.sh start <state_dir>   starts it; writes <state_dir>/port and <state_dir>/pid
#   oci_registry.sh stop <state_dir>    stops it by its PID and removes <state_dir>
# Used as the ctest fixture "oci_registry" (see tests/providers/local/CMakeLists.txt).
set -euo pipefail
action="${1:?start|stop}"
state="${2:?state directory}"
case "$action" in
  start)
    if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      exit 0
    fi
    rm -rf "$state"
    mkdir -p "$state/storage"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    cat > "$state/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
YAML
    setsid docker-registry serve "$state/config.yml" >"$state/log" 2>&1 < /dev/null &
    echo $! > "$state/pid"
    for _ in $(seq 1 300); do
      if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
        echo "$port" > "$state/port"
        exit 0
      fi
      if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
        cat "$state/log" >&2
        exit 1
      fi
      sleep 0.1
    done
    echo "docker-registry did not answer on 127.0.0.1:$port" >&2
    kill "$(cat "$state/pid")" || true
    exit 1
    ;;
  stop)
    if [[ -f "$state/pid" ]]; then
      pid="$(cat "$state/pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$state"
    ;;
  *) echo "usage: $0 start|stop <state_dir>" >&2; exit 2 ;;
esac

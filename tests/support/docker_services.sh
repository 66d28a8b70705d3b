#!/usr/bin/env bash
# Test services of the Docker provider: a private dockerd (--bridge=none --iptables=false, its
# own data-root, exec-root, pidfile and socket under the state dir, so it never meets a system
# one) and Debian's docker-registry on 127.0.0.1, plus a busybox image built offline from
# busybox-static and pushed to that registry.
#
#   docker_services.sh start <state_dir> <env_file>   start both, build and push the image,
#                                                     write the addresses to <env_file>
#   docker_services.sh stop <state_dir>               stop both (by PID) and remove the state
#   docker_services.sh start-dockerd <dir> [--live-restore]   one more daemon (own dirs)
#   docker_services.sh stop-dockerd <dir>
#
# <env_file> holds KEY=VALUE lines: RUNVOY_TEST_DOCKER_HOST, RUNVOY_TEST_DOCKER_SOCKET,
# RUNVOY_TEST_REGISTRY, RUNVOY_TEST_DOCKER_IMAGE.
set -euo pipefail

wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 600); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "docker_services: timeout waiting for $what" >&2
  return 1
}

stop_pid_file() {
  local file=$1 pid
  pid=$(cat "$file" 2>/dev/null) || return 0
  if [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

start_dockerd() {
  local dir=$1
  shift
  mkdir -p "$dir/data" "$dir/exec"
  echo '{}' >"$dir/daemon.json"
  # A daemon left over from an interrupted run of this same state dir.
  stop_dockerd "$dir"
  dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" -H "unix://$dir/docker.sock" --bridge=none --iptables=false \
    --ip-forward=false --ip-masq=false "$@" >>"$dir/dockerd.log" 2>&1 &
  echo $! >"$dir/dockerd.launcher.pid"
  wait_for "dockerd at $dir/docker.sock" curl -sf --unix-socket "$dir/docker.sock" \
    http://localhost/_ping
}

stop_dockerd() {
  local dir=$1
  # dockerd stops its managed containerd itself.
  stop_pid_file "$dir/dockerd.launcher.pid"
  stop_pid_file "$dir/dockerd.pid"
  # dockerd bind-mounts its data root onto itself; left mounted it keeps the directory busy.
  { grep -o " $dir/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do
    umount -l "$m" || true
  done
}

free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 20000))
    if ! ss -Hltn "sport = :$port" | grep -q .; then
      echo "$port"
      return 0
    fi
  done
  echo "docker_services: no free port" >&2
  return 1
}

start_registry() {
  local dir=$1 port=$2
  mkdir -p "$dir/registry/storage"
  cat >"$dir/registry/config.yml" <<CONF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/registry/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CONF
  docker-registry serve "$dir/registry/config.yml" >>"$dir/registry.log" 2>&1 &
  echo $! >"$dir/registry.pid"
  wait_for "docker-registry on 127.0.0.1:$port" curl -sf "http://127.0.0.1:$port/v2/"
}

build_image() {
  local dir=$1 reference=$2 root
  root=$dir/bbroot
  rm -rf "$root"
  mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,workspace}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    # busybox --list names busybox itself: linking it would replace the binary by a loop.
    [[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" --numeric-owner -c . |
    DOCKER_HOST="unix://$dir/docker.sock" docker import -c 'CMD ["/bin/sh"]' \
      -c 'ENV PATH=/bin' - "$reference" >/dev/null
  DOCKER_HOST="unix://$dir/docker.sock" docker push "$reference" >/dev/null
  # Runs must pull it like any registry image.
  DOCKER_HOST="unix://$dir/docker.sock" docker image rm "$reference" >/dev/null
  rm -rf "$root"
}

case "${1:-}" in
  start)
    dir=${2:?state dir}
    env_file=${3:?env file}
    mkdir -p "$dir"
    "$0" stop "$dir" || true
    mkdir -p "$dir"
    start_dockerd "$dir"
    port=$(free_port)
    start_registry "$dir" "$port"
    image="127.0.0.1:$port/runvoy-test/busybox:1"
    build_image "$dir" "$image"
    cat >"$env_file.tmp" <<ENV
RUNVOY_TEST_DOCKER_HOST=unix://$dir/docker.sock
RUNVOY_TEST_DOCKER_SOCKET=$dir/docker.sock
RUNVOY_TEST_REGISTRY=127.0.0.1:$port
RUNVOY_TEST_DOCKER_IMAGE=$image
RUNVOY_TEST_DOCKER_STATE=$dir
ENV
    mv "$env_file.tmp" "$env_file"
    ;;
  stop)
    dir=${2:?state dir}
    [[ -d "$dir" ]] || exit 0
    stop_pid_file "$dir/registry.pid"
    if [[ -S "$dir/docker.sock" ]]; then
      # Containers left by a failed test, then the daemon.
      ids=$(curl -sf --unix-socket "$dir/docker.sock" \
        'http://localhost/v1.41/containers/json?all=1' | grep -o '"Id":"[0-9a-f]*"' |
        cut -d'"' -f4 || true)
      for id in $ids; do
        curl -sf --unix-socket "$dir/docker.sock" -X DELETE \
          "http://localhost/v1.41/containers/$id?force=1&v=1" >/dev/null || true
      done
    fi
    stop_dockerd "$dir"
    rm -rf "$dir"
    ;;
  start-dockerd)
    dir=${2:?dir}
    shift 2
    start_dockerd "$dir" "$@"
    ;;
  stop-dockerd)
    stop_dockerd "${2:?dir}"
    ;;
  *)
    echo "usage: $0 start <state_dir> <env_file> | stop <state_dir> |" \
      "start-dockerd <dir> [dockerd flags] | stop-dockerd <dir>" >&2
    exit 2
    ;;
esac

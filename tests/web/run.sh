#!/usr/bin/env bash
# Browser tests of the runvoy web viewer.
#   tests/web/run.sh path/to/runvoy   start a real server and run every test (screenshots go
#                                      to docs/screenshots/)
#   tests/web/run.sh                   only the tests against the in-test API double
#   RUNVOY_WEB_FROM_SOURCE=1 tests/web/run.sh path/to/runvoy
#                                      the viewer from web/ on another origin, talking to the
#                                      server through CORS (tests the files, not the embedded copy)
# Needs node (>= 18), Chromium at /usr/bin/chromium (apt-get install chromium) and
# playwright-core (installed here from package-lock.json when missing).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${1:-}

if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund --silent)
fi

if [ -z "$BIN" ]; then
  cd "$HERE"
  exec node --test --test-concurrency=1 offline.test.mjs
fi

BIN=$(readlink -f "$BIN")
[ -x "$BIN" ] || { echo "run.sh: $BIN is not an executable" >&2; exit 2; }

TMP=$(mktemp -d /tmp/runvoy-web-tests.XXXXXX)
PID=
cleanup() {
  local rc=$?
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    wait "$PID" || true
  elif [ -n "$PID" ]; then
    echo "run.sh: the server (pid $PID) died during the tests; the end of its log:" >&2
    tail -n 20 "$TMP/server.log" >&2 || true
  fi
  exec 3<&- 2>/dev/null || true
  if [ "$rc" -eq 0 ]; then
    rm -rf "$TMP"
  else
    echo "run.sh: kept $TMP (server.log, data/) for inspection" >&2
  fi
}
trap cleanup EXIT

# Start the server; read its stdout through a FIFO to learn the address and the admin key.
mkfifo "$TMP/stdout"
CORS=
[ "${RUNVOY_WEB_FROM_SOURCE:-}" = 1 ] && CORS='*'  # the viewer is then served from web/ elsewhere
env ${CORS:+RUNVOY_CORS_ORIGINS=$CORS} RUNVOY_CONFIG=none "$BIN" server --listen 127.0.0.1:0 --data-dir "$TMP/data" \
  --seed-admin admin@example.com >"$TMP/stdout" 2>"$TMP/server.log" &
PID=$!
exec 3<"$TMP/stdout"
URL= ADMIN_KEY=
while [ -z "$URL" ] || [ -z "$ADMIN_KEY" ]; do
  if ! IFS= read -r -t 30 line <&3; then
    echo "run.sh: the server did not start (no 'listening on' within 30 s); its log:" >&2
    cat "$TMP/server.log" >&2
    exit 1
  fi
  case "$line" in
    "listening on "*) URL=${line#listening on } ;;
    "admin api key: "*) ADMIN_KEY=${line#admin api key: } ;;
  esac
done
echo "run.sh: server $URL (pid $PID)"

# JSON field from stdin, with node (always here for these tests).
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v===undefined)process.exit(1);console.log(v)})' "$1"; }
api() {  # api METHOD PATH [BODY] — as admin; fails on HTTP errors
  local method=$1 path=$2 body=${3:-}
  curl -sS --fail-with-body -X "$method" -H "X-API-Key: $ADMIN_KEY" \
    -H 'Content-Type: application/json' ${body:+--data "$body"} "$URL/api/v1$path"
}

api POST /images/register '{"image":"host"}' >/dev/null
DEV_TOKEN=$(api POST /users/create '{"email":"dev@example.com","role":"developer"}' | field claim_token)
DEV_KEY=$(curl -sS --fail-with-body "$URL/api/v1/claim/$DEV_TOKEN" | field api_key)
CLAIM_TOKEN=$(api POST /users/create '{"email":"claimed@example.com","role":"developer"}' | field claim_token)

cd "$HERE"
RUNVOY_URL=$URL RUNVOY_ADMIN_KEY=$ADMIN_KEY RUNVOY_DEV_KEY=$DEV_KEY RUNVOY_CLAIM_TOKEN=$CLAIM_TOKEN \
RUNVOY_IMAGE=host RUNVOY_SCREENSHOT_DIR="$ROOT/docs/screenshots" \
  node --test --test-concurrency=1 server.test.mjs offline.test.mjs

#!/usr/bin/env python3
"""Writes the seed corpus of every harness into fuzz/corpus/<harness>/ (run from anywhere).

The text seeds are real requests, configurations, playbooks, references and log lines; the
seeds of the harnesses that read a FuzzedDataProvider are laid out the way it consumes them:
strings from the front (each ended by a backslash and one other byte), integers and booleans
from the back.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"
ADMIN = "fuzz-admin-key-0000000000"
DEVELOPER = "fuzz-developer-key-0000000"
VIEWER = "fuzz-viewer-key-000000000"


def write(harness, name, data):
    folder = CORPUS / harness
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (folder / name).write_bytes(data)


class Provider:
    """Builds input for FuzzedDataProvider: front bytes + back bytes reversed."""

    def __init__(self):
        self.front = b""
        self.back = b""

    def string(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.front += data.replace(b"\\", b"\\\\") + b"\\\n"

    def byte(self, value):
        self.back += bytes([value & 0xFF])

    def rest(self, data):
        self.front += data.encode() if isinstance(data, str) else data

    def bytes(self):
        return self.front + self.back[::-1]


def http(method, target, body=None, key=ADMIN, headers=()):
    lines = [f"{method} {target} HTTP/1.1", "Host: runvoy.example.com"]
    if key:
        lines.append(f"X-API-Key: {key}")
    lines += list(headers)
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body.encode())}"]
    return "\r\n".join(lines) + "\r\n\r\n" + (body or "")


def http_seeds():
    seeds = {
        "health": http("GET", "/api/v1/health", key=None),
        "reconcile": http("POST", "/api/v1/health/reconcile", ""),
        "claim": http("GET", "/api/v1/claim/abcdefABCDEF0123456789", key=None),
        "openapi": http("GET", "/api/v1/openapi.json", key=None),
        "ws_plain_get": http("GET", "/api/v1/ws?execution_id=x&token=y", key=None),
        "run": http("POST", "/api/v1/run",
                    json.dumps({"command": "echo hi", "image": "alpine:3.19",
                                "env": {"A": "1"}, "secrets": ["db-password"], "timeout": 60}),
                    key=DEVELOPER, headers=["Idempotency-Key: key-1"]),
        "run_git": http("POST", "/api/v1/run",
                        json.dumps({"command": "make", "git_repo": "https://example.com/a.git",
                                    "git_ref": "main", "git_path": "src"})),
        "users": http("GET", "/api/v1/users"),
        "users_slash": http("GET", "/api/v1/users/"),
        "users_create": http("POST", "/api/v1/users/create",
                             json.dumps({"email": "new@example.com", "role": "developer"})),
        "users_create_key": http("POST", "/api/v1/users/create",
                                 json.dumps({"email": "k@example.com", "role": "viewer",
                                             "api_key": "chosen-key-0123456789abc"})),
        "users_revoke": http("POST", "/api/v1/users/revoke",
                             json.dumps({"email": "viewer@example.com"})),
        "images": http("GET", "/api/v1/images", key=VIEWER),
        "images_register": http("POST", "/api/v1/images/register",
                                json.dumps({"image": "localhost:5000/busybox:1", "cpu": 512,
                                            "memory": 1024, "runtime_platform": "Linux/ARM64",
                                            "is_default": False})),
        "image_show": http("GET", "/api/v1/images/alpine:3.19"),
        "image_remove": http("DELETE", "/api/v1/images/ghcr.io/x/y:1-0123abcd"),
        "secrets": http("GET", "/api/v1/secrets"),
        "secrets_create": http("POST", "/api/v1/secrets",
                               json.dumps({"name": "api-token", "key_name": "API_TOKEN",
                                           "value": "tok-123456", "description": "d"})),
        "secret_get": http("GET", "/api/v1/secrets/db-password"),
        "secret_put": http("PUT", "/api/v1/secrets/db-password",
                           json.dumps({"value": "new-value-1", "description": "rotated"})),
        "secret_delete": http("DELETE", "/api/v1/secrets/api-token"),
        "executions": http("GET", "/api/v1/executions?limit=5&status=RUNNING,SUCCEEDED"
                                  "&created_by=developer@example.com"
                                  "&before=2027-01-01T00:00:00Z"),
        "execution_status": http("GET", "/api/v1/executions/0123456789abcdef0123456789abcdef/status"),
        "execution_logs": http("GET", "/api/v1/executions/0123456789abcdef0123456789abcdef/logs"
                                      "?after=0000000000000001&limit=10"),
        "execution_kill": http("DELETE", "/api/v1/executions/0123456789abcdef0123456789abcdef"),
        "trace": http("GET", "/api/v1/trace/0123456789abcdef0123456789abcdef"),
        "audit": http("GET", "/api/v1/audit?after=2026-01-01T00:00:00Z&limit=3"),
        "metrics_bearer": http("GET", "/api/v1/metrics", key=None,
                               headers=["Authorization: Bearer fuzz-metrics-token"]),
        "metrics_admin": http("GET", "/api/v1/metrics"),
        "preflight": http("OPTIONS", "/api/v1/run", key=None,
                          headers=["Origin: https://app.example.com",
                                   "Access-Control-Request-Method: POST"]),
        "method_not_allowed": http("PATCH", "/api/v1/secrets"),
        "unknown_path": http("GET", "/api/v1/nope?x=%41%zz"),
        "viewer_index": http("GET", "/", key=None),
        "viewer_asset": http("GET", "/assets/app.js?v=1", key=None),
        "bad_key": http("GET", "/api/v1/users", key="wrong-key"),
        "forwarded": http("GET", "/api/v1/users", key="wrong",
                          headers=["X-Forwarded-For: 192.0.2.7, 10.0.0.1",
                                   "X-Request-ID: client-req-1"]),
        "chunked": ("POST /api/v1/secrets HTTP/1.1\r\nHost: h\r\nX-API-Key: " + ADMIN +
                    "\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "1a\r\n{\"name\":\"c\",\"key_name\":\"\r\n17\r\nC\",\"value\":\"valu"
                    "e-123\"}\r\n0\r\n\r\n"),
        "oversized": ("POST /api/v1/run HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999\r\n\r\n"),
        "upgrade": ("GET /api/v1/ws?execution_id=abc&token=t&last_event_id=0000000000000002"
                    "&batch=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"),
        "http10": "GET /api/v1/health HTTP/1.0\r\n\r\n",
    }
    seeds["pipelined"] = (
        http("POST", "/api/v1/secrets",
             json.dumps({"name": "p1", "key_name": "P1", "value": "pipelined-value"})) +
        http("GET", "/api/v1/secrets/p1") +
        http("PUT", "/api/v1/secrets/p1", json.dumps({"key_name": "P2"})) +
        http("DELETE", "/api/v1/secrets/p1"))
    seeds["pipelined_run"] = (
        http("POST", "/api/v1/run", json.dumps({"command": "true"})) +
        http("GET", "/api/v1/executions?limit=1"))
    for name, data in seeds.items():
        write("http_request", name, data)


def json_body_seeds():
    bodies = {
        "run": ("POST /api/v1/run as developer",
                {"command": "echo $A", "env": {"A": "1"}, "secrets": ["db-password"],
                 "image": "alpine:3.19", "timeout": 30}),
        "run_git": ("POST /api/v1/run", {"command": "ls", "git_repo": "https://e.com/r.git",
                                         "git_ref": "v1", "git_path": "a/b"}),
        "users_create": ("POST /api/v1/users/create",
                         {"email": "a@example.com", "role": "operator",
                          "api_key": "abcdefghijklmnopqrstu"}),
        "users_revoke": ("POST /api/v1/users/revoke", {"email": "viewer@example.com"}),
        "images_register": ("POST /api/v1/images/register",
                            {"image": "ubuntu:22.04", "is_default": True, "cpu": 1024,
                             "memory": 2048, "runtime_platform": "Linux/X86_64",
                             "task_role_name": "r", "task_execution_role_name": "e"}),
        "secrets_create": ("POST /api/v1/secrets",
                           {"name": "s-1", "key_name": "S_1", "value": "four",
                            "description": "x"}),
        "secret_put": ("PUT /api/v1/secrets/{name}",
                       {"key_name": "K", "value": "v-longer", "description": "d"}),
        "reconcile": ("POST /api/v1/health/reconcile as operator", {}),
        "kill": ("DELETE /api/v1/executions/{id}", {}),
        "image_remove": ("DELETE /api/v1/images/{image_id...} as viewer", {}),
    }
    for name, (line, body) in bodies.items():
        write("json_body", name, line + "\n" + json.dumps(body))
    write("json_body", "wrong_types", "POST /api/v1/run\n"
          '{"command": 1, "env": {"A": 2}, "secrets": "x", "timeout": 1.5}')
    write("json_body", "deep", "POST /api/v1/images/register\n" + "[" * 40 + "]" * 40)
    write("json_body", "numbers", "POST /api/v1/images/register\n"
          '{"image": "a", "cpu": 9223372036854775807, "memory": -1e300}')


def websocket_seeds():
    def frames(name, target, backlog, finished, live, live_end, items):
        p = Provider()
        p.string(target)
        p.byte(backlog)
        p.byte(1 if finished else 0)
        p.byte(live)
        p.byte(1 if live_end else 0)
        for kind, payload, key in items:
            p.byte(kind)
            p.string(payload)
            if (kind & 0x80) == 0 and (kind & 0x40) == 0:
                for b in key:
                    p.byte(b)
        write("websocket", name, p.bytes())

    target = "/api/v1/ws?execution_id=e1&token=tok&last_event_id=0000000000000001"
    frames("running_text_close", target, 3, False, 2, False,
           [(0x01, "hello", b"\x01\x02\x03\x04"), (0x08, b"\x03\xe8bye", b"\x05\x06\x07\x08")])
    frames("finished_batch", target + "&batch=true", 5, True, 0, False, [])
    frames("live_end", "/api/v1/ws?execution_id=e2&token=t", 0, False, 3, True,
           [(0x09, "ping", b"abcd"), (0x0A, "pong", b"efgh")])
    frames("fragmented", target, 1, False, 0, False,
           [(0x11, "frag", b"\x00\x00\x00\x00"), (0x00, "ment", b"\x10\x20\x30\x40"),
            (0x02, b"\x00\xff", b"\x01\x01\x01\x01")])
    frames("unmasked", target, 0, False, 0, False, [(0x41, "unmasked", b"")])
    frames("raw", "/api/v1/ws?token=only", 2, True, 1, True, [(0x80, b"\x81\x05hello", b"")])


def config_seeds():
    seeds = {
        "example": """listen: 0.0.0.0:56212
data_dir: /srv/runvoy
public_url: https://runvoy.example.com
trusted_proxies: [10.0.0.5]
executions:
  default_timeout: 30m
  kill_grace: 5s
compute:
  provider: local
  local:
    network: none
""",
        "full": """listen: "[::1]:0"
data_dir: /var/lib/runvoy
store:
  provider: sqlite
  sqlite:
    path: /var/lib/runvoy/other.db
compute:
  provider: local
  local:
    network: host
    user: nobody
    pids_limit: 256
    image_cache_bytes: 1GiB
vault:
  provider: local
  local:
    key_file: /etc/runvoy/master.key
metrics: on
public_url: https://r.example.com/
web_url: https://r.example.com/ui/
cors_origins: ["*", https://a.example.com]
node_id: node-1
log_level: debug
log_format: json
trusted_proxies: [10.0.0.0/8, "::1"]
max_body_bytes: 2MiB
auth_failure_limit: 10
executions:
  default_timeout: 1h
  max_timeout: 24h
  kill_grace: 500ms
  output_cap_bytes: 100MB
reconcile_interval: 90s
node_timeout: 2m
reconcile_stop_orphans: true
""",
        "postgres": "store:\n  postgres:\n    dsn: postgresql://u@localhost/runvoy\n    pool_size: 4\n",
        "tls": "tls:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\n",
        "unknown_key": "listen: 127.0.0.1:1\nbogus: [1, 2]\n",
        "bad_yaml": "listen: [\n",
        "cli": "api_endpoint: http://127.0.0.1:56212\napi_key: abc\nweb_url: http://127.0.0.1:56212/\n",
        "cli_quoted": "api_endpoint: 'http://h:1'\napi_key: \"k: #x\"\nfuture_key: 1\n",
        "anchors": "base: &b {provider: local}\ncompute: *b\n",
    }
    for name, text in seeds.items():
        write("server_config", name, text)


def playbook_seeds():
    examples = ROOT.parent / "examples" / "playbooks"
    for path in sorted(examples.glob("*.yaml")):
        write("playbook", path.stem, path.read_bytes())
    write("playbook", "doc_example", """description: Greet someone from the sandbox
image: host
git_repo: https://github.com/example/app.git
git_ref: main
git_path: scripts
secrets: [api-token]
env:
  GREETING: "{{greeting}}"
params:
  name: world
  greeting: Hello
  required:
commands:
  - echo "$GREETING, {{name}}! {{ required }} {{.Names}}"
""")
    write("playbook", "flow", "commands: [a, b]\nenv: {A: '{{x}}'}\nparams: {x: '{{x}}'}\n")


def image_reference_seeds():
    refs = ["alpine", "alpine:3.19", "library/ubuntu:22.04", "docker.io/library/ubuntu",
            "index.docker.io/x", "localhost:5000/busybox:1", "localhost/a/b/c",
            "ghcr.io/x/y@sha256:" + "0123456789abcdef" * 4,
            "ghcr.io/x/y:1.0@sha256:" + "a" * 64, "host", "ubuntu:22.04-0123abcd",
            "registry.example.com:443/team/app:v1.2.3-rc_1", "../a", "a//b", "A:tag"]
    for i, ref in enumerate(refs):
        write("image_reference", f"ref{i:02d}", ref)


def line_splitter_seeds():
    texts = [
        ("ascii", "hello\nworld\nno newline at the end", [0, 12, 3, 5, 1]),
        ("utf8", "caf\u00e9 \u20ac \U0001F600\n\u00e9\u00e9\u00e9\u00e9\u00e9\n".encode(), [0, 5, 2, 1]),
        ("invalid", b"\xff\xfe ok \xe2\x82 broken \xed\xa0\x80 surrogate \xf4\x90 \xc0\xaf\n\xf0\x9f\x98", [0, 4, 7]),
        ("long", "x" * 300 + "\n" + "y" * 17, [0, 16, 1]),
        ("crlf", "windows\r\nline\r\n\r\n\n", [1, 0, 0]),
    ]
    for name, text, params in texts:
        data = text.encode() if isinstance(text, str) else text
        # Back, in consumption order: default limit?, limit, chunk count, chunk sizes.
        default, limit, *chunks = params
        p = Provider()
        p.byte(default)
        p.byte(limit)
        p.byte(len(chunks))
        for size in chunks:
            p.byte(size - 1 if size else 0)
        p.rest(data)
        write("line_splitter", name, p.bytes())


def scrubber_seeds():
    cases = [
        ("plain", ["hunter2-secret"], [0], "password is hunter2-secret\nok\n"),
        ("base64", ["hunter2-secret"], [3, 7],
         "b64 aHVudGVyMi1zZWNyZXQ= and unpadded aHVudGVyMi1zZWNyZXQ end"),
        ("overlap", ["abcabc", "cab", "bca"], [1, 2], "xxabcabcabcab bca cab abca"),
        ("split", ["tok-123456", "tok-1"], [1], "tok-12345tok-123456tok-1 "),
        ("binary", ["\x00\xff\x10"], [2], "\x00\xff\x10\x00\xff"),
    ]
    for name, values, chunks, text in cases:
        p = Provider()
        p.byte(len(values) - 1)
        for value in values:
            p.string(value.encode("latin-1"))
        p.byte(len(chunks))
        for size in chunks:
            p.byte(max(size - 1, 0))
        p.rest(text.encode("latin-1"))
        write("scrubber", name, p.bytes())


if __name__ == "__main__":
    http_seeds()
    json_body_seeds()
    websocket_seeds()
    config_seeds()
    playbook_seeds()
    image_reference_seeds()
    line_splitter_seeds()
    scrubber_seeds()

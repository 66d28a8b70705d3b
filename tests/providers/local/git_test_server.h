#pragma once

// Test helpers for git workspaces: repositories made on the spot, and a smart-HTTP git server
// (`git http-backend` behind a small Python CGI server on 127.0.0.1) whose repositories under
// /private/ need Basic credentials with the token as password; a server a clone hangs on; and
// a search of the files a token must never reach.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace runvoy::testing_git {

inline constexpr char kServerScript[] = R"PY(
import base64, os, subprocess, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
TOKEN = os.environ.pop("TEST_GIT_TOKEN", "")

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            _, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except Exception:
            return False
        return TOKEN != "" and password == TOKEN

    def serve(self):
        path, _, query = self.path.partition("?")
        if path.startswith("/private/") and not self.authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {"GIT_PROJECT_ROOT": ROOT, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
               "QUERY_STRING": query, "REQUEST_METHOD": self.command,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
               "PATH": "/usr/bin:/bin", "HOME": ROOT, "GIT_CONFIG_NOSYSTEM": "1"}
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True).stdout
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, rest = out.partition(sep)
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key and key.lower() != "content-length":
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)

    do_GET = serve
    do_POST = serve

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
)PY";

inline std::string Base64(const std::string& data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                       (static_cast<unsigned char>(data[i + 1]) << 8) |
                       static_cast<unsigned char>(data[i + 2]);
    for (int shift : {18, 12, 6, 0})
      out += kAlphabet[(v >> shift) & 63];
  }
  if (i < data.size()) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size())
      v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Runs `script` with /bin/sh -e; stores its stdout (without trailing newlines) in `out`.
inline bool Sh(const std::string& script, std::string* out = nullptr) {
  FILE* f = ::popen(("set -e\n" + script).c_str(), "r");
  if (f == nullptr)
    return false;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    text.append(buf, n);
  const int status = ::pclose(f);
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  if (out != nullptr)
    *out = text;
  return status == 0;
}

// A repository `<dir>/src` (branches main and feature, tag v1 on the first commit, files
// `file`, `sub/deeper/f`, symlinks `sub/up` -> ../.. and `sub/abs` -> /etc) and bare copies
// `<dir>/http/public/repo.git` and `<dir>/http/private/repo.git` for the server.
struct TestRepos {
  std::string dir;
  std::string first_sha, main_sha, feature_sha;

  bool Create(const std::string& base) {
    dir = base;
    const std::string git = "git -c user.email=t@example.com -c user.name=t ";
    // clang-format off
    const std::string script =
        "export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null\n"
        "rm -rf '" + dir + "'; mkdir -p '" + dir + "/http/public' '" + dir + "/http/private'\n"
        "cd '" + dir + "'; git init -q -b main src; cd src\n"
        "mkdir -p sub/deeper; echo main-1 > file; echo deep > sub/deeper/f\n"
        "ln -s ../.. sub/up; ln -s /etc sub/abs\n"
        "git add -A; " + git + "commit -qm one; git tag v1\n"
        "echo main-2 > file; " + git + "commit -qam two\n"
        "git checkout -qb feature; echo feature > file; " + git + "commit -qam three\n"
        "git checkout -q main\n"
        "git clone -q --bare . '" + dir + "/http/public/repo.git'\n"
        "git clone -q --bare . '" + dir + "/http/private/repo.git'\n"
        "chmod -R a+rX '" + dir + "'\n";
    // clang-format on
    if (!Sh(script))
      return false;
    const std::string in = "cd '" + dir + "/src'; ";
    return Sh(in + "git rev-parse v1", &first_sha) && Sh(in + "git rev-parse main", &main_sha) &&
           Sh(in + "git rev-parse feature", &feature_sha);
  }
  std::string FileUrl() const { return "file://" + dir + "/src"; }
};

// The smart-HTTP server; Start returns its port (0 on failure). Stopped by PID.
class GitHttpServer {
 public:
  ~GitHttpServer() { Stop(); }

  int Start(const std::string& root, const std::string& token, const std::string& log_file) {
    const std::string script_path = root + "/server.py";
    std::ofstream(script_path) << kServerScript;
    int out[2];
    if (::pipe(out) != 0)
      return 0;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log >= 0)
        ::dup2(log, 2);
      ::close(out[0]);
      ::setenv("TEST_GIT_TOKEN", token.c_str(), 1);
      ::execlp("python3", "python3", script_path.c_str(), root.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n')
      line += c;
    ::close(out[0]);
    return line.empty() ? 0 : std::atoi(line.c_str());
  }

  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
};

// A server that accepts connections and never answers: a clone from it hangs.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentServer() {
    for (int fd : accepted_)
      ::close(fd);
    ::close(fd_);
  }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  // Waits (up to `timeout`) for a client to connect, and keeps the connection open.
  bool WaitForClient(std::chrono::milliseconds timeout) {
    struct pollfd p = {fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
      return false;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client >= 0)
      accepted_.push_back(client);
    return client >= 0;
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/repo.git"; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> accepted_;
};

// Whether the file at `path` holds `needle`.
inline bool FileContains(const std::filesystem::path& path, const std::string& needle) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str().find(needle) != std::string::npos;
}

// The regular files at or under `path` (a file or a directory) that hold `needle`.
inline std::vector<std::string> FilesContaining(const std::string& path,
                                                const std::string& needle) {
  std::vector<std::string> found;
  if (std::filesystem::is_regular_file(path)) {
    if (FileContains(path, needle)) {
      found.push_back(path);
    }
    return found;
  }
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && FileContains(it->path(), needle)) {
      found.push_back(it->path().string());
    }
  }
  return found;
}

}  // namespace runvoy::testing_git

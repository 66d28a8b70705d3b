#include "providers/git/git_workspace.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "providers/output/scrubber.h"

namespace runvoy::providers::git {

using output::Base64Encode;
using output::Scrubber;

namespace {

constexpr const char* kGitCandidates[] = {"/usr/bin/git", "/usr/local/bin/git", "/bin/git"};
constexpr size_t kMaxCapturedBytes = 64 * 1024;

void WriteAll(int fd, std::string_view data) {
  if (fd < 0)
    return;
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    done += static_cast<size_t>(n);
  }
}

void Progress(const GitCloneOptions& options, const std::string& line) {
  if (options.on_progress) {
    options.on_progress(line);
    return;
  }
  WriteAll(options.progress_fd, line + "\n");
}

std::string Scrub(const GitCloneOptions& options, const std::string& text) {
  Scrubber scrubber(options.scrub);
  std::string out;
  scrubber.Feed(text, out);
  scrubber.Finish(out);
  return out;
}

core::Result<void> Failure(const GitCloneOptions& options, const std::string& reason) {
  return core::Fail(core::ErrorCode::kInvalidRequest, Scrub(options, reason));
}

// The environment of every git process: nothing inherited, no configuration but ours.
std::vector<std::string> GitEnvironment(const GitCloneOptions& options, const std::string& home) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=" + home,
      "LANG=C",
      "LC_ALL=C",
      "GIT_TERMINAL_PROMPT=0",
      "GIT_CONFIG_NOSYSTEM=1",
      "GIT_CONFIG_GLOBAL=/dev/null",
      "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
  };
  std::vector<std::pair<std::string, std::string>> config = {
      {"safe.directory", "*"},
      {"credential.helper", ""},
      {"advice.detachedHead", "false"},
      {"init.defaultBranch", "main"},
  };
  if (!options.token.empty()) {
    config.emplace_back("http.extraHeader",
                        "Authorization: Basic " + Base64Encode("x-access-token:" + options.token));
  }
  env.push_back("GIT_CONFIG_COUNT=" + std::to_string(config.size()));
  for (size_t i = 0; i < config.size(); ++i) {
    env.push_back("GIT_CONFIG_KEY_" + std::to_string(i) + "=" + config[i].first);
    env.push_back("GIT_CONFIG_VALUE_" + std::to_string(i) + "=" + config[i].second);
  }
  return env;
}

struct GitResult {
  int status = -1;
  bool cancelled = false;  // killed because options.keep_going said so
  std::string out;         // stdout, when captured
  std::string last_error;  // the last non-empty line of stderr
};

// Splits git's stderr into lines (progress uses \r), forwards them and keeps the last one.
class ErrorLines {
 public:
  explicit ErrorLines(const GitCloneOptions& options) : options_(options) {}
  void Feed(std::string_view data) {
    for (char c : data) {
      if (c == '\n' || c == '\r') {
        Line();
      } else if (pending_.size() < 4096) {
        pending_ += c;
      }
    }
  }
  void Finish() { Line(); }
  const std::string& last() const { return last_; }

 private:
  void Line() {
    if (pending_.empty())
      return;
    Progress(options_, pending_);
    last_ = std::move(pending_);
    pending_.clear();
  }
  const GitCloneOptions& options_;
  std::string pending_;
  std::string last_;
};

core::Result<GitResult> RunGit(const GitCloneOptions& options, const std::string& git,
                               const std::string& cwd, const std::vector<std::string>& env,
                               const std::vector<std::string>& args, bool capture_stdout) {
  std::vector<std::string> argv_storage = {"git"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int err_pipe[2];
  int out_pipe[2] = {-1, -1};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0 || (capture_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0)) {
    return core::Fail(core::ErrorCode::kInternal,
                      std::string("git: pipe: ") + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    return core::Fail(core::ErrorCode::kInternal,
                      std::string("git: fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    // A group of its own, so that a cancellation reaches git's helpers (git-remote-http) too.
    if (options.keep_going)
      ::setpgid(0, 0);
    auto fail = [&](const char* what) {
      const std::string msg = std::string("fatal: ") + what + ": " + std::strerror(errno) + "\n";
      (void)!::write(err_pipe[1], msg.data(), msg.size());
      ::_exit(127);
    };
    if (options.net_fd >= 0 && ::setns(options.net_fd, CLONE_NEWNET) != 0)
      fail("cannot enter the host network");
    if (::chdir(cwd.c_str()) != 0)
      fail("cannot enter the workspace");
    ::umask(022);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0)
      fail("/dev/null");
    ::dup2(null_fd, 0);
    ::dup2(capture_stdout ? out_pipe[1] : err_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::syscall(SYS_close_range, 3U, ~0U, 0);
    ::execve(git.c_str(), argv.data(), envp.data());
    const std::string msg = std::string("fatal: cannot run git: ") + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  if (capture_stdout)
    ::close(out_pipe[1]);

  GitResult result;
  ErrorLines lines(options);
  struct pollfd fds[2] = {{err_pipe[0], POLLIN, 0}, {out_pipe[0], POLLIN, 0}};
  int open_fds = capture_stdout ? 2 : 1;
  const int poll_timeout_ms = options.keep_going ? 200 : -1;
  while (open_fds > 0) {
    if (options.keep_going && !result.cancelled && !options.keep_going()) {
      result.cancelled = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
    const int ready = ::poll(fds, 2, poll_timeout_ms);
    if (ready < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (auto& p : fds) {
      if (p.fd < 0 || p.revents == 0)
        continue;
      char buf[8192];
      const ssize_t n = ::read(p.fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0) {
        ::close(p.fd);
        p.fd = -1;
        --open_fds;
        continue;
      }
      if (p.fd == err_pipe[0]) {
        lines.Feed(std::string_view(buf, static_cast<size_t>(n)));
      } else if (result.out.size() < kMaxCapturedBytes) {
        result.out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0)
      ::close(p.fd);
  }
  lines.Finish();
  result.last_error = lines.last();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return core::Fail(core::ErrorCode::kInternal,
                        std::string("git: wait: ") + std::strerror(errno));
    }
  }
  result.status = status;
  return result;
}

bool Succeeded(const GitResult& r) {
  return !r.cancelled && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
}

std::string Why(const GitResult& r) {
  if (r.cancelled)
    return "cancelled";
  if (!r.last_error.empty())
    return r.last_error;
  if (WIFSIGNALED(r.status))
    return "git was killed by signal " + std::to_string(WTERMSIG(r.status));
  return "git exited with status " + std::to_string(WEXITSTATUS(r.status));
}

uid_t g_chown_uid = 0;
gid_t g_chown_gid = 0;

int ChownEntry(const char* path, const struct stat*, int, struct FTW*) {
  return ::lchown(path, g_chown_uid, g_chown_gid) == 0 ? 0 : -1;
}

bool HasParentSegment(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos)
      end = path.size();
    if (path.substr(start, end - start) == "..")
      return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::string FindGitBinary() {
  for (const char* candidate : kGitCandidates) {
    if (::access(candidate, X_OK) == 0)
      return candidate;
  }
  return {};
}

std::string FindGitToken(const contract::TaskSpec& task) {
  for (const char* key : {"GITHUB_TOKEN", "GIT_TOKEN"}) {
    auto it = task.env.find(key);
    if (it != task.env.end() && !it->second.empty())
      return it->second;
  }
  for (const char* key : {"GITHUB_TOKEN", "GIT_TOKEN"}) {
    for (const auto& secret : task.secrets) {
      if (secret.key_name == key && !secret.value.empty())
        return secret.value;
    }
  }
  return {};
}

bool LooksLikeCommit(std::string_view ref) {
  if (ref.size() < 7 || ref.size() > 64)
    return false;
  for (char c : ref) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  }
  return true;
}

std::string GitWorkingDirectory(const contract::GitSource& git) {
  if (git.repo.empty())
    return "/workspace";
  std::string dir = "/workspace/repo";
  std::string_view path = git.path;
  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  if (!path.empty() && path != ".")
    dir += "/" + std::string(path);
  return dir;
}

core::Result<void> ValidateGitPath(const std::string& path) {
  if (!path.empty() && (path[0] == '/' || HasParentSegment(path))) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "git_path " + path + " must be relative to the repository, without \"..\"");
  }
  return {};
}

core::Result<void> CheckGitPath(const std::string& repo_dir, const std::string& path) {
  if (path.empty() || path == ".")
    return {};
  if (auto r = ValidateGitPath(path); !r)
    return r;
  char repo_real[PATH_MAX];
  if (::realpath(repo_dir.c_str(), repo_real) == nullptr) {
    return core::Fail(core::ErrorCode::kInternal,
                      std::string("the cloned repository is missing: ") + std::strerror(errno));
  }
  char target_real[PATH_MAX];
  const std::string target = repo_dir + "/" + path;
  if (::realpath(target.c_str(), target_real) == nullptr) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "git_path " + path + " does not exist in the repository");
  }
  const std::string base = repo_real;
  const std::string resolved = target_real;
  if (resolved != base && resolved.compare(0, base.size() + 1, base + "/") != 0) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "git_path " + path + " leads out of the repository");
  }
  if (resolved.compare(base.size(), 5, "/.git") == 0 &&
      (resolved.size() == base.size() + 5 || resolved[base.size() + 5] == '/')) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "git_path " + path + " is inside the repository's .git directory");
  }
  struct stat st;
  if (::stat(resolved.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "git_path " + path + " is not a directory in the repository");
  }
  return {};
}

core::Result<void> CloneIntoWorkspace(const GitCloneOptions& options,
                                      const std::string& workspace_dir) {
  const auto& source = options.source;
  const std::string git = FindGitBinary();
  if (git.empty())
    return Failure(options, "git clone failed: git is not installed on the server");

  std::string home_template = options.home_parent + "/.runvoy-git-XXXXXX";
  if (::mkdtemp(home_template.data()) == nullptr) {
    return core::Fail(core::ErrorCode::kInternal,
                      std::string("git: cannot create a home directory: ") + std::strerror(errno));
  }
  const std::string home = home_template;
  struct HomeRemover {
    std::string path;
    ~HomeRemover() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } remover{home};
  const auto env = GitEnvironment(options, home);

  const bool commit = LooksLikeCommit(source.ref);
  Progress(options, "### runvoy: cloning " + source.repo + " (ref " +
                        (source.ref.empty() ? std::string("(default branch)") : source.ref) + ")");
  std::vector<std::string> clone = {"clone", "--no-local"};
  if (commit) {
    clone.push_back("--no-checkout");
  } else {
    clone.push_back("--depth=1");
    if (!source.ref.empty())
      clone.push_back("--branch=" + source.ref);
  }
  clone.insert(clone.end(), {"--", source.repo, "repo"});
  auto cloned = RunGit(options, git, workspace_dir, env, clone, false);
  if (!cloned)
    return Failure(options, cloned.error().message);
  if (!Succeeded(*cloned))
    return Failure(options, "git clone of " + source.repo + " failed: " + Why(*cloned));

  const std::string repo_dir = workspace_dir + "/repo";
  if (commit) {
    auto checkout =
        RunGit(options, git, repo_dir, env, {"checkout", "--quiet", "--detach", source.ref}, false);
    if (!checkout)
      return Failure(options, checkout.error().message);
    if (!Succeeded(*checkout)) {
      return Failure(options, "git checkout of " + source.ref + " failed: " + Why(*checkout));
    }
  }
  auto head = RunGit(options, git, repo_dir, env, {"rev-parse", "--verify", "HEAD"}, true);
  if (!head)
    return Failure(options, head.error().message);
  if (!Succeeded(*head))
    return Failure(options, "git clone of " + source.repo + " has no commit: " + Why(*head));
  std::string sha = head->out;
  while (!sha.empty() && (sha.back() == '\n' || sha.back() == '\r'))
    sha.pop_back();
  Progress(options, "### runvoy: checked out " + sha);

  if (auto r = CheckGitPath(repo_dir, source.path); !r)
    return Failure(options, r.error().message);

  if (!options.chown)
    return {};
  g_chown_uid = options.uid;
  g_chown_gid = options.gid;
  if (::nftw(repo_dir.c_str(), ChownEntry, 64, FTW_PHYS) != 0) {
    return core::Fail(
        core::ErrorCode::kInternal,
        std::string("git: cannot hand the clone to the run user: ") + std::strerror(errno));
  }
  return {};
}

}  // namespace runvoy::providers::git

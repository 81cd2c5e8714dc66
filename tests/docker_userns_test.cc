// The docker backend against an engine that remaps user namespaces (dockerd
// --userns-remap=default): kernels run as their container uid inside and as the engine's
// subordinate uid on the host, and everything still works (sockets, state, files API).
//
// The test starts a second engine of its own beside the one the other suites use, on its own
// socket and directories, and loads the worker image into it from the first (once: its data
// root is kept between runs, and the load is skipped when the image id already matches).
// `default` has dockerd create the "dockremap" user and its /etc/subuid and /etc/subgid
// ranges itself (with useradd and usermod).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>

#include "support/engine.h"
#include "support/proc.h"
#include "support/server_process.h"
#include "support/shell.h"

namespace {

using testing_support::ConnectUnix;
using testing_support::EngineSocket;
using testing_support::HostPidsHolding;
using testing_support::HttpReply;
using testing_support::OpenMarkerCode;
using testing_support::ReadText;
using testing_support::ServerProcess;
using testing_support::WaitFor;

constexpr const char* kImage = "code-interpreter-worker:latest";
constexpr const char* kSocket = "/run/ci-userns-docker.sock";
constexpr const char* kRunDir = "/run/ci-userns-docker";        // exec root, pid file, log
constexpr const char* kDataRoot = "/var/lib/ci-userns-docker";  // kept: the loaded image

// The output of a shell command (stderr included), and whether it exited 0.
std::pair<bool, std::string> Shell(const std::string& command) {
  std::string out;
  const bool ok = testing_support::Shell(command, out) == 0;
  return {ok, out};
}

// GET `target` from the engine at `socket` (curl, as docker_engine_test does).
nlohmann::json EngineJson(const std::string& socket, const std::string& target) {
  const auto [ok, out] =
      Shell("curl -sf --max-time 30 --unix-socket " + socket + " 'http://docker" + target + "'");
  return ok ? nlohmann::json::parse(out, nullptr, false) : nlohmann::json();
}

bool Pings(const std::string& socket) {
  return ConnectUnix(socket).Valid() &&
         Shell("curl -sf --max-time 5 --unix-socket " + socket + " http://docker/_ping").first;
}

// A second dockerd with --userns-remap=default, owned by the test: started by Start, stopped
// (SIGTERM, waited for) by Stop and the destructor.
class RemappedEngine {
 public:
  ~RemappedEngine() { Stop(); }

  // Empty when the engine answers; otherwise why it could not be started.
  std::string Start() {
    StopLeftover();
    std::filesystem::create_directories(kRunDir);
    const std::string log = std::string(kRunDir) + "/dockerd.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a crashed test does not leave it running
      ::setsid();
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      const std::string host = std::string("unix://") + kSocket;
      const std::string exec_root = std::string(kRunDir) + "/exec";
      const std::string pidfile = std::string(kRunDir) + "/dockerd.pid";
      ::execlp("dockerd", "dockerd", "--host", host.c_str(), "--userns-remap=default",
               "--data-root", kDataRoot, "--exec-root", exec_root.c_str(), "--pidfile",
               pidfile.c_str(), "--bridge=none", "--iptables=false", "--ip-masq=false",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid_ < 0) return "fork failed";
    const bool up = WaitFor(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;  // exited: not up
          }
          return Pings(kSocket);
        },
        60);
    if (up && pid_ > 0) return "";
    Stop();
    return "dockerd --userns-remap=default did not come up on this host; its log ends:\n" +
           Tail(ReadText(log));
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (!WaitFor([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 30)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

 private:
  // An engine of an earlier run that was killed before it could stop its own.
  static void StopLeftover() {
    const std::string pidfile = std::string(kRunDir) + "/dockerd.pid";
    const int pid = std::atoi(ReadText(pidfile).c_str());
    if (pid <= 0 || ReadText("/proc/" + std::to_string(pid) + "/comm") != "dockerd\n") return;
    ::kill(pid, SIGTERM);
    WaitFor([&] { return ::kill(pid, 0) != 0; }, 30);
  }

  static std::string Tail(const std::string& text) {
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

  pid_t pid_ = -1;
};

// The engine's root's host ids: dockremap's range in /etc/subuid (the test's own reading,
// not the gateway's).
unsigned DockremapStart() {
  std::istringstream lines(ReadText("/etc/subuid"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("dockremap:", 0) == 0) return static_cast<unsigned>(std::stoul(line.substr(10)));
  }
  return 0;
}

// The real, effective, saved and fs uids of a host process ("Uid:" of /proc/<pid>/status).
std::string HostUids(int pid) {
  std::istringstream lines(ReadText("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("Uid:", 0) == 0) return line.substr(4);
  return "";
}

class DockerUsernsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("CI_TEST_SANDBOX", "docker", 1);
    if (::geteuid() != 0) GTEST_SKIP() << "starts a second dockerd: needs root";
    if (!Shell("command -v dockerd").first) GTEST_SKIP() << "dockerd is not installed";
    ASSERT_TRUE(Pings(EngineSocket()))
        << "no Docker engine at " << EngineSocket() << " (scripts/docker-engine.sh starts one)";
    const std::string failed = engine_.Start();
    ASSERT_TRUE(failed.empty()) << failed;
    LoadImage();
  }
  void TearDown() override { engine_.Stop(); }

  // The worker image from the first engine, unless the second has the same already.
  void LoadImage() {
    const auto source = EngineJson(EngineSocket(), std::string("/images/") + kImage + "/json");
    ASSERT_TRUE(source.is_object() && source.contains("Id"))
        << kImage << " is not in the engine at " << EngineSocket();
    const auto target = EngineJson(kSocket, std::string("/images/") + kImage + "/json");
    if (target.is_object() && target.value("Id", "") == source["Id"]) return;
    const auto [ok, out] = Shell("DOCKER_HOST=unix://" + EngineSocket() + " docker save " + kImage +
                                 " | DOCKER_HOST=unix://" + kSocket + " docker load");
    ASSERT_TRUE(ok) << out;
    // The image it replaces (the first engine's was rebuilt) would otherwise stay in the kept
    // data root for good.
    Shell(std::string("DOCKER_HOST=unix://") + kSocket + " docker image prune -f");
  }

  RemappedEngine engine_;
};

TEST_F(DockerUsernsTest, KernelsRunAsTheEnginesSubordinateUidsAndWork) {
  const auto info = EngineJson(kSocket, "/info");
  ASSERT_NE(info.value("SecurityOptions", nlohmann::json::array()).dump().find("name=userns"),
            std::string::npos)
      << info.dump();
  const unsigned start = DockremapStart();
  ASSERT_GT(start, 0u) << "dockremap has no range in /etc/subuid:\n" << ReadText("/etc/subuid");

  ServerProcess server({"--docker-socket", kSocket, "--min-idle", "0", "--max-workers", "2"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const auto c = server.Client();
  const std::string marker = "ci-userns-" + std::to_string(::getpid());
  HttpReply r = c.Execute("u", "import os\nkept = 41\n" + OpenMarkerCode(marker) +
                                   "open('/sandbox/from-kernel.txt', 'w').write('made inside')\n"
                                   "os.getuid()");
  ASSERT_EQ(r.status, 200) << r.body << "\n" << server.Log();
  ASSERT_EQ(r.ResultText().find_first_not_of("0123456789"), std::string::npos) << r.body;
  const unsigned uid = static_cast<unsigned>(std::stoul(r.ResultText()));
  EXPECT_LT(uid, 65536u) << "inside the engine's range";
  EXPECT_NE(server.Log().find("remaps user namespaces"), std::string::npos) << server.Log();

  // State is kept between executions: the gateway reaches the kernel's sockets.
  r = c.Execute("u", "kept + 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "42");

  // On the host the kernel is the subordinate uid, not the container's.
  const auto pids = HostPidsHolding(marker);
  ASSERT_FALSE(pids.empty());
  const std::string host = std::to_string(start + uid);
  for (const int pid : pids) {
    std::istringstream fields(HostUids(pid));
    for (std::string id; fields >> id;) EXPECT_EQ(id, host) << "pid " << pid;
  }

  // The files API reads what the kernel wrote, and what it writes is the kernel's own.
  r = c.Get("/files?user_uuid=u&path=/sandbox/from-kernel.txt");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "made inside");
  r = c.Request("PUT", "/files?user_uuid=u&path=/sandbox/from-api.txt", "from the api",
                {{"X-Auth-Token", c.token()}});
  ASSERT_EQ(r.status, 201) << r.body;
  r = c.Execute("u",
                "st = os.stat('/sandbox/from-api.txt')\n"
                "open('/sandbox/from-api.txt', 'a').write('!')\n"
                "(st.st_uid == os.getuid(), st.st_gid == os.getgid(), "
                "open('/sandbox/from-api.txt').read())");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "(True, True, 'from the api!')");

  // Host root is nobody in the container: its files (the sealed worker directory) show as the
  // overflow uid and cannot be written.
  r = c.Execute("u",
                "try:\n"
                "    open('/run/kernel/planted', 'w')\n"
                "    planted = 'written'\n"
                "except OSError as e:\n"
                "    planted = type(e).__name__\n"
                "(os.stat('/run/kernel').st_uid, planted)");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "(65534, 'PermissionError')");
  server.Stop();
}

}  // namespace

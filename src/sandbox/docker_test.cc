// Unit tests of the Docker Engine API client and the docker launcher's pure helpers. The
// engine answers are recorded from Docker 20.10.24 (API 1.41); the client is tested against a
// fake engine on a unix socket in a temporary directory, never against a real engine.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/unique_fd.h"
#include "sandbox/docker_client.h"
#include "sandbox/docker_launcher.h"
#include "sandbox/init_spec.h"

namespace sandbox::docker {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

// --- Recorded engine answers (Docker 20.10.24+dfsg1, API 1.41) ---------------------------

// GET /containers/{id}/json of a running container, trimmed to the fields around State.
constexpr const char* kInspectRunning =
    R"({"Id":"46ee50f7268ce3e8bdac51636806bac6fa679a78f831caa11f6e1aef2680c573",)"
    R"("Created":"2026-11-26T09:40:33.425417199Z","Path":"sleep","Args":["300"],)"
    R"("State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,)"
    R"("OOMKilled":false,"Dead":false,"Pid":22357,"ExitCode":0,"Error":"",)"
    R"("StartedAt":"2026-11-26T09:40:38.384581489Z","FinishedAt":"0001-01-01T00:00:00Z"},)"
    R"("Image":"sha256:f15a9b5dc3ad77de88ab023cec7b40d89137bc7c303ad2248a4057a5eb9610ff",)"
    R"("Name":"/helper-dockertest-run","RestartCount":0,"Driver":"overlay2","Platform":"linux",)"
    R"("HostConfig":{"NetworkMode":"default","Memory":0,"MemorySwap":0,"PidsLimit":null,)"
    R"("Init":null}})";

// The same of a container killed by the kernel's OOM killer (32 MiB limit, Init: true).
constexpr const char* kInspectOomKilled =
    R"({"Id":"40c741712cce0a84ac38b89459288c56e1117b9b3d9d5d81ed3a8a4f0362fc3e",)"
    R"("Created":"2026-11-26T09:40:44.406374583Z","Path":"python3",)"
    R"js("Args":["-c","b=[]\nwhile True: b.append(bytearray(1<<20))"],)js"
    R"("State":{"Status":"exited","Running":false,"Paused":false,"Restarting":false,)"
    R"("OOMKilled":true,"Dead":false,"Pid":0,"ExitCode":137,"Error":"",)"
    R"("StartedAt":"2026-11-26T09:40:44.762609466Z",)"
    R"("FinishedAt":"2026-11-26T09:40:44.856974279Z"},)"
    R"("Image":"sha256:f15a9b5dc3ad77de88ab023cec7b40d89137bc7c303ad2248a4057a5eb9610ff",)"
    R"("Name":"/helper-dockertest-oom","RestartCount":0,"Driver":"overlay2","Platform":"linux",)"
    R"("HostConfig":{"NetworkMode":"default","Memory":33554432,"MemorySwap":33554432,)"
    R"("PidsLimit":null,"Init":true}})";

// The State of a container whose command does not exist (start failed, never ran).
constexpr const char* kInspectStartFailed =
    R"({"Id":"6cca04898462c4c076a6b636742cca8ba81036e1ebd24a197c0ef3e521a3c288",)"
    R"("State":{"Status":"created","Running":false,"Paused":false,"Restarting":false,)"
    R"("OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":127,"Error":"failed to create shim )"
    R"(task: OCI runtime create failed: runc create failed: unable to start container process: )"
    R"(exec: \"/nonexistent\": stat /nonexistent: no such file or directory: unknown",)"
    R"("StartedAt":"0001-01-01T00:00:00Z","FinishedAt":"0001-01-01T00:00:00Z"}})";

// GET /containers/json?all=true&filters=... with two of our containers.
constexpr const char* kContainerList =
    R"([{"Id":"46ee50f7268ce3e8bdac51636806bac6fa679a78f831caa11f6e1aef2680c573",)"
    R"("Names":["/code-interpreter-i-0d96be58-w-1"],"Image":"code-interpreter-worker:latest",)"
    R"("ImageID":"sha256:f15a9b5dc3ad77de88ab023cec7b40d89137bc7c303ad2248a4057a5eb9610ff",)"
    R"("Command":"/usr/bin/python3 -m ipykernel_launcher","Created":1795686033,"Ports":[],)"
    R"("Labels":{"managed-by":"code-interpreter","org.code-interpreter.instance":"i-0d96be58"},)"
    R"("State":"running","Status":"Up 2 minutes","HostConfig":{"NetworkMode":"none"},)"
    R"("NetworkSettings":{"Networks":{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,)"
    R"("NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,)"
    R"("IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"",)"
    R"("DriverOpts":null}}},"Mounts":[]},)"
    R"({"Id":"40c741712cce0a84ac38b89459288c56e1117b9b3d9d5d81ed3a8a4f0362fc3e",)"
    R"("Names":["/code-interpreter-i-0d96be58-w-2"],"Image":"code-interpreter-worker:latest",)"
    R"("Command":"/usr/bin/python3 -m ipykernel_launcher","Created":1795686044,"Ports":[],)"
    R"("Labels":{"managed-by":"code-interpreter","org.code-interpreter.instance":"i-0d96be58"},)"
    R"("State":"exited","Status":"Exited (137) 1 second ago","HostConfig":{"NetworkMode":"none"},)"
    R"("Mounts":[]}])";

constexpr const char* kNoSuchImage = R"({"message":"No such image: nope:latest"})"
                                     "\n";
constexpr const char* kNameConflict =
    R"({"message":"Conflict. The container name \"/x\" is already in use by container \"abc\". )"
    R"(You have to remove (or rename) that container to be able to reuse that name."})"
    "\n";
constexpr const char* kCreated =
    R"({"Id":"6cca04898462c4c076a6b636742cca8ba81036e1ebd24a197c0ef3e521a3c288","Warnings":[]})"
    "\n";

// --- Pure functions --------------------------------------------------------------------

TEST(SocketFromDockerHostTest, UnsetOrEmptyIsTheDefaultSocket) {
  EXPECT_EQ(SocketFromDockerHost(nullptr).value(), "/var/run/docker.sock");
  EXPECT_EQ(SocketFromDockerHost("").value(), "/var/run/docker.sock");
}

TEST(SocketFromDockerHostTest, UnixSchemeGivesThePath) {
  EXPECT_EQ(SocketFromDockerHost("unix:///x").value(), "/x");
  EXPECT_EQ(SocketFromDockerHost("unix:///run/user/1000/docker.sock").value(),
            "/run/user/1000/docker.sock");
}

TEST(SocketFromDockerHostTest, RemoteEnginesAreRefused) {
  for (const char* host : {"tcp://127.0.0.1:2375", "ssh://me@host", "unix://", "/x"}) {
    const auto socket = SocketFromDockerHost(host);
    ASSERT_FALSE(socket) << host;
    EXPECT_THAT(socket.error().message, HasSubstr(host));
    EXPECT_THAT(socket.error().message, HasSubstr("not supported"));
  }
}

TEST(NegotiateVersionTest, NewerEngineSpeaksOurs) {
  EXPECT_EQ(NegotiateVersion("1.43").value(), "1.41");
  EXPECT_EQ(NegotiateVersion("1.41").value(), "1.41");
  EXPECT_EQ(NegotiateVersion("2.0").value(), "1.41");
}

TEST(NegotiateVersionTest, OlderEngineSpeaksItsOwn) {
  EXPECT_EQ(NegotiateVersion("1.40").value(), "1.40");
  EXPECT_EQ(NegotiateVersion("1.25").value(), "1.25");
  // Minor versions compare as numbers, not as strings.
  EXPECT_EQ(NegotiateVersion("1.100").value(), "1.41");
}

TEST(NegotiateVersionTest, TooOldOrGarbageIsAnError) {
  const auto old = NegotiateVersion("1.24");
  ASSERT_FALSE(old);
  EXPECT_THAT(old.error().message, HasSubstr("1.24"));
  EXPECT_THAT(old.error().message, HasSubstr("at least 1.25"));
  for (const char* garbage : {"", "garbage", "1", "v1.41", "0.99"}) {
    EXPECT_FALSE(NegotiateVersion(garbage)) << garbage;
  }
  EXPECT_THAT(NegotiateVersion("").error().message, HasSubstr("(unknown)"));
}

TEST(EngineErrorTest, JsonMessage) {
  const Response response{404, kNoSuchImage, "1.41"};
  EXPECT_EQ(EngineError("create container", response).message,
            "docker: create container: No such image: nope:latest (HTTP 404)");
}

TEST(EngineErrorTest, ConflictMessageIsKeptWhole) {
  const Response response{409, kNameConflict, "1.41"};
  EXPECT_EQ(EngineError("create container", response).message,
            "docker: create container: Conflict. The container name \"/x\" is already in use by "
            "container \"abc\". You have to remove (or rename) that container to be able to "
            "reuse that name. (HTTP 409)");
}

TEST(EngineErrorTest, NonJsonBodyIsQuotedWithoutTrailingNewlines) {
  const Response response{502, "Bad Gateway\r\n", ""};
  EXPECT_EQ(EngineError("start container", response).message,
            "docker: start container: Bad Gateway (HTTP 502)");
  // JSON without a string "message" is shown raw.
  const Response other{500, R"({"error":"x"})", ""};
  EXPECT_EQ(EngineError("ping", other).message, R"(docker: ping: {"error":"x"} (HTTP 500))");
}

TEST(EngineErrorTest, LongBodyIsCut) {
  const Response response{500, std::string(5000, 'x'), ""};
  const std::string message = EngineError("ping", response).message;
  EXPECT_LT(message.size(), 600u);
  EXPECT_THAT(message, HasSubstr("(HTTP 500)"));
}

TEST(EngineErrorTest, EmptyBody) {
  const Response response{500, "", ""};
  EXPECT_EQ(EngineError("inspect image", response).message,
            "docker: inspect image: no details (HTTP 500)");
}

class CreateBodyTest : public ::testing::Test {
 protected:
  CreateBodyTest() {
    options_.image = "code-interpreter-worker:test";
    options_.instance = "i-0d96be58";
    options_.limits.memory_bytes = 512ull << 20;
    options_.limits.pids = 64;
    options_.limits.cpus = 1.5;
    options_.limits.tmp_bytes = 64ull << 20;
    options_.limits.home_bytes = 32ull << 20;
    options_.limits.file_size_bytes = 100ull << 20;
    options_.limits.open_files = 512;
    spec_.name = "w-3";
    spec_.dir = "/run/code-interpreter/workers/w-3";
    spec_.env = {{"OPENBLAS_NUM_THREADS", "1"}};
  }

  json Body() const { return CreateBody(options_, spec_, argv_, kUid, kInit); }

  static constexpr unsigned kUid = 100123;
  static constexpr const char* kInit = "/run/code-interpreter/workers/sandbox-container-init";
  DockerOptions options_;
  WorkerSpec spec_;
  std::vector<std::string> argv_ = {"/usr/bin/python3", "-m", "ipykernel_launcher", "-f",
                                    "/run/kernel/kernel-sandbox.json"};
};

TEST_F(CreateBodyTest, TheDataLimitIsSoftAtTheDefaultAndHardAtTheCap) {
  options_.limits.data_bytes = 448ull << 20;
  options_.limits.data_max_bytes = 1792ull << 20;
  json data;
  const json body = Body();
  for (const json& u : body["HostConfig"]["Ulimits"]) {
    if (u["Name"] == "data") data = u;
  }
  EXPECT_EQ(data["Soft"], 448ll << 20);
  EXPECT_EQ(data["Hard"], 1792ll << 20);
}

TEST(UpdateBodyTest, ASessionsLimitsForARunningContainer) {
  const json body = UpdateBody({.memory_bytes = 2048ull << 20, .cpus = 0.5, .pids = 64});
  EXPECT_EQ(body["Memory"], 2048ll << 20);
  EXPECT_EQ(body["MemorySwap"], 2048ll << 20) << "no swap";
  EXPECT_EQ(body["NanoCpus"], 500000000ll);
  EXPECT_EQ(body["PidsLimit"], 64);
}

TEST_F(CreateBodyTest, ImageCommandAndUser) {
  const json body = Body();
  EXPECT_EQ(body["Image"], "code-interpreter-worker:test");
  EXPECT_EQ(body["Cmd"].get<std::vector<std::string>>(), argv_);
  // Our init, not the image's entrypoint, wraps argv.
  EXPECT_EQ(body["Entrypoint"], json::array({"/sbin/sandbox-container-init"}));
  EXPECT_EQ(body["User"], "100123:100123");
  EXPECT_EQ(body["WorkingDir"], kHomeDir);
  EXPECT_EQ(body["NetworkDisabled"], true);
  EXPECT_EQ(body["Tty"], false);
}

TEST_F(CreateBodyTest, Hardening) {
  const json host = Body()["HostConfig"];
  EXPECT_EQ(host["NetworkMode"], "none");
  EXPECT_EQ(host["ReadonlyRootfs"], true);
  EXPECT_EQ(host["CapDrop"], json::array({"ALL"}));
  ASSERT_EQ(host["SecurityOpt"].size(), 2u);
  EXPECT_EQ(host["SecurityOpt"][0], "no-new-privileges");
  EXPECT_EQ(host["CgroupnsMode"], "private");
  // Our own seccomp allowlist, as a Docker profile: EPERM by default, no ptrace, no io_uring.
  const std::string opt = host["SecurityOpt"][1].get<std::string>();
  ASSERT_EQ(opt.rfind("seccomp=", 0), 0u) << opt.substr(0, 40);
  const json profile = json::parse(opt.substr(8));
  EXPECT_EQ(profile["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(profile["defaultErrnoRet"], 1);
  std::set<std::string> allowed;
  for (const auto& rule : profile["syscalls"]) {
    if (rule["action"] == "SCMP_ACT_ALLOW" && !rule.contains("args"))
      for (const auto& name : rule["names"]) allowed.insert(name.get<std::string>());
  }
  for (const char* name : {"read", "write", "execve", "wait4", "rt_sigtimedwait", "futex"})
    EXPECT_TRUE(allowed.contains(name)) << name;
  for (const char* name : {"ptrace", "io_uring_setup", "io_uring_enter", "io_setup", "mount",
                           "unshare", "setns", "bpf", "perf_event_open", "keyctl", "clone",
                           "socket", "socketpair", "mbind", "set_mempolicy"})
    EXPECT_FALSE(allowed.contains(name)) << name << " must not be allowed unconditionally";
  // socket(): AF_VSOCK (40) gets EAFNOSUPPORT; AF_UNIX is allowed.
  bool vsock_refused = false, unix_allowed = false;
  for (const auto& rule : profile["syscalls"]) {
    if (rule["names"] != json::array({"socket"}) || rule["args"].size() != 1) continue;
    const json& arg = rule["args"][0];
    if (arg["op"] != "SCMP_CMP_EQ" || arg["index"] != 0) continue;
    if (arg["value"] == 40)
      vsock_refused = rule["action"] == "SCMP_ACT_ERRNO" && rule["errnoRet"] == EAFNOSUPPORT;
    if (arg["value"] == 1) unix_allowed = rule["action"] == "SCMP_ACT_ALLOW";
  }
  EXPECT_TRUE(vsock_refused);
  EXPECT_TRUE(unix_allowed);
  EXPECT_EQ(host["Init"], false);  // docker-init would run dumpable, as the kernel's uid
  EXPECT_EQ(host["OomScoreAdj"], 1000);
  const auto masked = host["MaskedPaths"].get<std::vector<std::string>>();
  for (const char* path : {"/proc/kcore", "/proc/keys", "/proc/cmdline", "/sys/firmware"})
    EXPECT_NE(std::find(masked.begin(), masked.end(), path), masked.end()) << path;
  EXPECT_EQ(host["IpcMode"], "private");
  EXPECT_FALSE(host.contains("Privileged") && host["Privileged"] == true);
  EXPECT_FALSE(host.contains("CapAdd"));
  EXPECT_EQ(host["RestartPolicy"], json({{"Name", "no"}}));
}

TEST_F(CreateBodyTest, Limits) {
  const json host = Body()["HostConfig"];
  EXPECT_EQ(host["Memory"], 512ll << 20);
  EXPECT_EQ(host["MemorySwap"], host["Memory"]);  // no swap
  EXPECT_EQ(host["PidsLimit"], 64);
  EXPECT_EQ(host["NanoCpus"], 1'500'000'000ll);
  ASSERT_TRUE(host["Ulimits"].is_array());
  std::map<std::string, std::pair<long long, long long>> ulimits;
  for (const auto& u : host["Ulimits"]) {
    ulimits[u["Name"].get<std::string>()] = {u["Soft"].get<long long>(),
                                             u["Hard"].get<long long>()};
  }
  EXPECT_EQ(ulimits["core"], std::make_pair(0ll, 0ll));
  EXPECT_EQ(ulimits["nofile"], std::make_pair(512ll, 512ll));
  EXPECT_EQ(ulimits["fsize"], std::make_pair(100ll << 20, 100ll << 20));
  EXPECT_EQ(ulimits["data"], std::make_pair(-1ll, -1ll));  // no data limit given
  options_.limits.data_bytes = sandbox::DataLimitFor(512ull << 20);
  const json after = Body();
  for (const auto& u : after["HostConfig"]["Ulimits"]) {
    if (u["Name"] == "data") {
      EXPECT_EQ(u["Soft"], 448ll << 20);  // 512 MiB less 64 MiB
    }
  }
}

TEST_F(CreateBodyTest, NanoCpusOfFractionalCores) {
  for (const auto& [cpus, nano] : std::vector<std::pair<double, long long>>{
           {0.1, 100'000'000}, {0.3, 300'000'000}, {0.7, 700'000'000}, {2.3, 2'300'000'000}}) {
    options_.limits.cpus = cpus;
    EXPECT_EQ(Body()["HostConfig"]["NanoCpus"], nano) << cpus;
  }
}

TEST_F(CreateBodyTest, TmpfsMountsBelongToTheUid) {
  const json tmpfs = Body()["HostConfig"]["Tmpfs"];
  ASSERT_TRUE(tmpfs.is_object());
  EXPECT_EQ(tmpfs.size(), 4u);
  EXPECT_EQ(tmpfs["/tmp"],
            "rw,nosuid,nodev,size=67108864,nr_inodes=4096,uid=100123,gid=100123,mode=1777");
  EXPECT_EQ(tmpfs[kHomeDir],
            "rw,nosuid,nodev,size=33554432,nr_inodes=2048,uid=100123,gid=100123,mode=700");
  // /dev/shm: --tmp-mb with an inode cap, instead of ShmSize (no inode cap).
  EXPECT_EQ(tmpfs["/dev/shm"], "rw,nosuid,nodev,noexec,mode=1777,size=67108864,nr_inodes=4096");
  EXPECT_FALSE(Body()["HostConfig"].contains("ShmSize"));
  // The workspace's mount point: read-only and empty until the session's workspace is
  // attached over it.
  EXPECT_EQ(tmpfs["/sandbox"], "ro,nosuid,nodev,noexec,size=4k,nr_inodes=2");
}

TEST_F(CreateBodyTest, PrivateDevptsWithAPtyCap) {
  options_.limits.ptys = 7;
  const json mounts = Body()["HostConfig"]["Mounts"];
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0]["Type"], "volume");
  EXPECT_EQ(mounts[0]["Target"], "/dev/pts");
  const json driver = mounts[0]["VolumeOptions"]["DriverConfig"];
  EXPECT_EQ(driver["Name"], "local");
  EXPECT_EQ(driver["Options"]["type"], "devpts");
  EXPECT_EQ(driver["Options"]["o"], "newinstance,ptmxmode=0666,mode=0620,max=7");
}

TEST_F(CreateBodyTest, WorkerDirectoryAndInitAreTheOnlyBinds) {
  const json host = Body()["HostConfig"];
  EXPECT_EQ(host["Binds"], json::array({"/run/code-interpreter/workers/w-3:/run/kernel:rw",
                                        std::string(kInit) + ":/sbin/sandbox-container-init:ro"}));
  EXPECT_FALSE(host.contains("VolumesFrom"));
}

TEST_F(CreateBodyTest, LabelsAndEnvironment) {
  const json body = Body();
  EXPECT_EQ(body["Labels"][kManagedLabel], kManagedValue);
  EXPECT_EQ(body["Labels"][kInstanceLabel], "i-0d96be58");
  EXPECT_EQ(body["Labels"]["org.code-interpreter.worker"], "w-3");
  const auto env = body["Env"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(env.begin(), env.end(), "OPENBLAS_NUM_THREADS=1"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), std::string("HOME=") + kHomeDir), env.end());
}

TEST(ParseStateTest, RecordedRunningContainer) {
  const auto state = ParseState(kInspectRunning);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_TRUE(state->running);
  EXPECT_EQ(state->pid, 22357);
  EXPECT_FALSE(state->oom_killed);
  EXPECT_EQ(state->exit_code, 0);
  EXPECT_EQ(state->error, "");
}

TEST(ParseStateTest, RecordedOomKilledContainer) {
  const auto state = ParseState(kInspectOomKilled);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_FALSE(state->running);
  EXPECT_EQ(state->pid, 0);
  EXPECT_TRUE(state->oom_killed);
  EXPECT_EQ(state->exit_code, 137);
}

TEST(ParseStateTest, RecordedStartFailure) {
  const auto state = ParseState(kInspectStartFailed);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_FALSE(state->running);
  EXPECT_EQ(state->exit_code, 127);
  EXPECT_THAT(state->error, HasSubstr("stat /nonexistent: no such file or directory"));
}

TEST(ParseStateTest, Garbage) {
  for (const char* body : {"", "not json", "[]", "{}", R"({"State":null})", R"({"State":"x"})",
                           R"({"message":"No such container: nope"})"}) {
    const auto state = ParseState(body);
    ASSERT_FALSE(state) << body;
    EXPECT_THAT(state.error().message, HasSubstr("no State")) << body;
  }
}

// Bug: ParseState lets nlohmann's type_error escape on a State whose fields have unexpected
// types (json::value() throws), instead of returning an error.
// Fields of the wrong type read as absent (not running, no pid, exit code 0, no error): the
// engine's answer never throws through the Result contract.
TEST(ParseStateTest, WrongFieldTypesReadAsAbsent) {
  for (const char* body :
       {R"({"State":{"Running":"yes","Pid":12}})", R"({"State":{"Pid":null,"Running":1}})",
        R"({"State":{"ExitCode":"137","Pid":1e30}})",
        R"({"State":{"Error":null,"OOMKilled":"true"}})", R"({"State":{"Pid":99999999999}})"}) {
    common::Result<ContainerState> state;
    ASSERT_NO_THROW(state = ParseState(body)) << body;
    ASSERT_TRUE(state) << body;
    EXPECT_FALSE(state->running) << body;
    EXPECT_FALSE(state->oom_killed) << body;
    EXPECT_EQ(state->exit_code, 0) << body;
    EXPECT_EQ(state->error, "") << body;
  }
  EXPECT_EQ(ParseState(R"({"State":{"Running":"yes","Pid":12}})")->pid, 12);
  EXPECT_EQ(ParseState(R"({"State":{"Pid":99999999999}})")->pid, 0);
}

TEST(ParseContainerIdsTest, RecordedList) {
  const auto ids = ParseContainerIds(kContainerList);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<std::string>{
                      "46ee50f7268ce3e8bdac51636806bac6fa679a78f831caa11f6e1aef2680c573",
                      "40c741712cce0a84ac38b89459288c56e1117b9b3d9d5d81ed3a8a4f0362fc3e"}));
}

TEST(ParseContainerIdsTest, EmptyListAndOddEntries) {
  EXPECT_EQ(ParseContainerIds("[]\n").value(), std::vector<std::string>{});
  EXPECT_EQ(ParseContainerIds(R"([{"Id":"a"},{"Names":[]},{"Id":7},"x",{"Id":"b"}])").value(),
            (std::vector<std::string>{"a", "b"}));
}

TEST(ParseContainerIdsTest, NotAnArray) {
  for (const char* body : {"", "{}", R"({"message":"page not found"})", "null"}) {
    EXPECT_FALSE(ParseContainerIds(body)) << body;
  }
}

TEST(WaitStatusFromExitCodeTest, ExitCodes) {
  for (const int code : {0, 1, 2, 127, 128, 255}) {
    const int status = WaitStatusFromExitCode(code);
    ASSERT_TRUE(WIFEXITED(status)) << code;
    EXPECT_EQ(WEXITSTATUS(status), code);
  }
}

TEST(WaitStatusFromExitCodeTest, SignalsReportedByInit) {
  for (const int sig : {SIGKILL, SIGTERM, SIGSEGV, SIGABRT, SIGINT}) {
    const int status = WaitStatusFromExitCode(128 + sig);
    ASSERT_TRUE(WIFSIGNALED(status)) << 128 + sig;
    EXPECT_EQ(WTERMSIG(status), sig);
  }
  EXPECT_EQ(DescribeExitStatus(WaitStatusFromExitCode(137)), "signal 9 (Killed)");
  EXPECT_EQ(DescribeExitStatus(WaitStatusFromExitCode(255)), "exit code 255");
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

TEST(InstanceFilterTest, PercentDecodesToTheLabelFilter) {
  const std::string filter = InstanceFilter("i-0d96be58");
  // Safe in a query string as it is.
  for (const char c : filter) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("%-_.~", c)) << c;
  }
  EXPECT_EQ(json::parse(PercentDecode(filter)),
            json::parse(R"({"label":["managed-by=code-interpreter",)"
                        R"("org.code-interpreter.instance=i-0d96be58"]})"));
}

// --- Client against a fake engine -------------------------------------------------------

// One request as the fake engine received it.
struct SeenRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// Raw HTTP bytes to send back, or nullopt: read the request and never answer.
using Reply = std::optional<std::string>;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// An HTTP/1.1 server on a unix socket that answers each request on its own connection from a
// handler, one connection at a time, on a thread of its own.
class FakeEngine {
 public:
  using Handler = std::function<Reply(const SeenRequest&)>;

  FakeEngine(const std::string& path, Handler handler) : handler_(std::move(handler)) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    stop_read_.Reset(pipe_fds[0]);
    stop_write_.Reset(pipe_fds[1]);
    listener_.Reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (::bind(listener_.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener_.Get(), 8) != 0) {
      throw std::runtime_error("bind/listen " + path + ": " + std::strerror(errno));
    }
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeEngine() {
    [[maybe_unused]] const ssize_t n = ::write(stop_write_.Get(), "x", 1);
    thread_.join();
  }

  void SetHandler(Handler handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
  }

  std::vector<SeenRequest> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  // Waits until `fd` is readable; false when the engine is stopping.
  bool WaitReadable(int fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_read_.Get(), POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0) {
      if (errno != EINTR) return false;
    }
    return fds[1].revents == 0;
  }

  void Serve() {
    while (WaitReadable(listener_.Get())) {
      common::UniqueFd connection(::accept4(listener_.Get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (connection.Valid()) Answer(connection.Get());
    }
  }

  void Answer(int fd) {
    std::optional<SeenRequest> request = Read(fd);
    if (!request) return;
    Handler handler;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(*request);
      handler = handler_;
    }
    const Reply reply = handler(*request);
    if (!reply) {
      // Silent: hold the connection until the client gives up or the test ends.
      char byte;
      while (WaitReadable(fd) && ::read(fd, &byte, 1) > 0) {
      }
      return;
    }
    for (std::size_t sent = 0; sent < reply->size();) {
      const ssize_t n = ::send(fd, reply->data() + sent, reply->size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  std::optional<SeenRequest> Read(int fd) {
    std::string data;
    std::size_t header_end = std::string::npos;
    std::size_t length = 0;
    char buffer[4096];
    while (header_end == std::string::npos || data.size() < header_end + 4 + length) {
      if (!WaitReadable(fd)) return std::nullopt;
      const ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n <= 0) return std::nullopt;
      data.append(buffer, static_cast<std::size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) length = ContentLength(data.substr(0, header_end));
      }
    }
    SeenRequest request;
    const std::string head = data.substr(0, header_end);
    std::size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const auto space1 = request_line.find(' ');
    const auto space2 = request_line.rfind(' ');
    request.method = request_line.substr(0, space1);
    request.target = request_line.substr(space1 + 1, space2 - space1 - 1);
    while (line_end != std::string::npos && line_end < head.size()) {
      const std::size_t next = head.find("\r\n", line_end + 2);
      const std::string line = head.substr(line_end + 2, next - line_end - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        const auto value = line.find_first_not_of(' ', colon + 1);
        request.headers[Lower(line.substr(0, colon))] =
            value == std::string::npos ? "" : line.substr(value);
      }
      line_end = next;
    }
    request.body = data.substr(header_end + 4, length);
    return request;
  }

  static std::size_t ContentLength(const std::string& head) {
    const std::string lower = Lower(head);
    const auto at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) return 0;
    return std::stoul(head.substr(at + std::strlen("\r\ncontent-length:")));
  }

  mutable std::mutex mu_;
  Handler handler_;                    // guarded by mu_
  std::vector<SeenRequest> requests_;  // guarded by mu_
  common::UniqueFd listener_;
  common::UniqueFd stop_read_;
  common::UniqueFd stop_write_;
  std::thread thread_;
};

// A response as Docker 20.10 sends it.
std::string EngineReply(unsigned status, const std::string& reason, const std::string& body,
                        const std::string& api_version = "1.41") {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  if (!api_version.empty()) out += "Api-Version: " + api_version + "\r\n";
  if (!body.empty()) out += "Content-Type: application/json\r\n";
  out +=
      "Docker-Experimental: false\r\n"
      "Ostype: linux\r\n"
      "Server: Docker/20.10.24+dfsg1 (linux)\r\n"
      "Date: Thu, 26 Nov 2026 09:40:33 GMT\r\n";
  if (status != 204) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

std::string PingReply(const std::string& api_version) {
  return "HTTP/1.1 200 OK\r\n"
         "Api-Version: " +
         api_version +
         "\r\n"
         "Cache-Control: no-cache, no-store, must-revalidate\r\n"
         "Docker-Experimental: false\r\n"
         "Ostype: linux\r\n"
         "Pragma: no-cache\r\n"
         "Server: Docker/20.10.24+dfsg1 (linux)\r\n"
         "Date: Thu, 26 Nov 2026 09:40:26 GMT\r\n"
         "Content-Length: 2\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "OK";
}

// An engine of `api_version` that answers /_ping and the given "METHOD /target" routes
// (targets with their version prefix); anything else gets the engine's own 404.
FakeEngine::Handler Engine(const std::string& api_version, std::map<std::string, Reply> routes) {
  return [api_version, routes = std::move(routes)](const SeenRequest& request) -> Reply {
    if (request.method == "GET" && request.target == "/_ping") return PingReply(api_version);
    if (auto it = routes.find(request.method + " " + request.target); it != routes.end())
      return it->second;
    return EngineReply(404, "Not Found", "{\"message\":\"page not found\"}\n", "");
  };
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/docker_test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_ = (dir_ / "docker.sock").string();
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }

  void Serve(FakeEngine::Handler handler) {
    engine_ = std::make_unique<FakeEngine>(socket_, std::move(handler));
  }
  std::vector<std::string> Targets() const {
    std::vector<std::string> out;
    for (const auto& r : engine_->Requests()) out.push_back(r.method + " " + r.target);
    return out;
  }

  fs::path dir_;
  std::string socket_;
  std::unique_ptr<FakeEngine> engine_;
};

TEST_F(ClientTest, PingNegotiatesAndCallsUseTheVersionPrefix) {
  Serve(Engine("1.41", {{"GET /v1.41/containers/json?all=true", EngineReply(200, "OK", "[]\n")}}));
  Client client(socket_);
  EXPECT_EQ(client.Ping().value(), "1.41");
  const auto listed = client.Call("GET", "/containers/json?all=true");
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->status, 200u);
  EXPECT_EQ(listed->body, "[]\n");
  EXPECT_EQ(listed->api_version, "1.41");
  EXPECT_EQ(Targets(),
            (std::vector<std::string>{"GET /_ping", "GET /v1.41/containers/json?all=true"}));
  const SeenRequest ping = engine_->Requests()[0];
  EXPECT_EQ(ping.Header("host"), "docker");
  EXPECT_EQ(ping.body, "");
}

TEST_F(ClientTest, FirstCallNegotiatesOnceAgainstANewerEngine) {
  Serve(Engine("1.43", {{"GET /v1.41/info", EngineReply(200, "OK", "{}", "1.43")}}));
  Client client(socket_);
  ASSERT_TRUE(client.Call("GET", "/info"));
  ASSERT_TRUE(client.Call("GET", "/info"));
  EXPECT_EQ(Targets(),
            (std::vector<std::string>{"GET /_ping", "GET /v1.41/info", "GET /v1.41/info"}));
}

TEST_F(ClientTest, OlderEngineGetsItsOwnVersion) {
  Serve(Engine("1.40", {{"GET /v1.40/images/code-interpreter-worker:latest/json",
                         EngineReply(200, "OK", "{}", "1.40")}}));
  Client client(socket_);
  EXPECT_EQ(client.Ping().value(), "1.40");
  const auto image = client.Call("GET", "/images/code-interpreter-worker:latest/json");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->status, 200u);
  EXPECT_EQ(Targets().back(), "GET /v1.40/images/code-interpreter-worker:latest/json");
}

TEST_F(ClientTest, TooOldEngineIsRefused) {
  Serve(Engine("1.24", {}));
  Client client(socket_);
  const auto version = client.Ping();
  ASSERT_FALSE(version);
  EXPECT_THAT(version.error().message, HasSubstr("at least 1.25"));
  EXPECT_FALSE(client.Call("GET", "/info"));
  for (const auto& target : Targets()) EXPECT_EQ(target, "GET /_ping");
}

TEST_F(ClientTest, FailedPingIsAnEngineError) {
  Serve([](const SeenRequest&) -> Reply {
    return EngineReply(500, "Internal Server Error", "{\"message\":\"daemon is shutting down\"}\n");
  });
  Client client(socket_);
  const auto version = client.Ping();
  ASSERT_FALSE(version);
  EXPECT_EQ(version.error().message, "docker: ping: daemon is shutting down (HTTP 500)");
}

TEST_F(ClientTest, ExpectReportsTheEngineMessage) {
  Serve(Engine("1.41", {{"GET /v1.41/images/nope:latest/json",
                         EngineReply(404, "Not Found", kNoSuchImage)}}));
  Client client(socket_);
  const auto image = client.Expect("inspect image", "GET", "/images/nope:latest/json");
  ASSERT_FALSE(image);
  EXPECT_THAT(image.error().message, HasSubstr("inspect image"));
  EXPECT_THAT(image.error().message, HasSubstr("No such image: nope:latest"));
  EXPECT_THAT(image.error().message, HasSubstr("HTTP 404"));
}

TEST_F(ClientTest, ExpectPassesSuccessAndAcceptedStatuses) {
  Serve(Engine(
      "1.41",
      {{"POST /v1.41/containers/abc/start", EngineReply(204, "No Content", "")},
       {"DELETE /v1.41/containers/gone?force=true&v=true",
        EngineReply(404, "Not Found", "{\"message\":\"No such container: gone\"}\n")},
       {"POST /v1.41/containers/create?name=x", EngineReply(409, "Conflict", kNameConflict)}}));
  Client client(socket_);
  const auto started = client.Expect("start container", "POST", "/containers/abc/start");
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(started->status, 204u);
  EXPECT_EQ(started->body, "");
  const auto removed = client.Expect("remove container", "DELETE",
                                     "/containers/gone?force=true&v=true", std::nullopt, {404});
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(removed->status, 404u);
  const auto created =
      client.Expect("create container", "POST", "/containers/create?name=x", json::object(), {404});
  ASSERT_FALSE(created);
  EXPECT_THAT(created.error().message, HasSubstr("is already in use by container"));
  EXPECT_THAT(created.error().message, HasSubstr("HTTP 409"));
}

TEST_F(ClientTest, PostCarriesTheJsonBody) {
  Serve(Engine("1.41", {{"POST /v1.41/containers/create?name=code-interpreter-i-1-w-3",
                         EngineReply(201, "Created", kCreated)}}));
  Client client(socket_);
  DockerOptions options;
  options.instance = "i-1";
  WorkerSpec spec;
  spec.name = "w-3";
  spec.dir = "/run/ci/w-3";
  const json body =
      CreateBody(options, spec, {"/usr/bin/python3", "-c", "print(\"é\\n\")"}, 1000, "/init");
  const auto created = client.Expect("create container", "POST",
                                     "/containers/create?name=code-interpreter-i-1-w-3", body);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->status, 201u);
  EXPECT_EQ(json::parse(created->body)["Id"],
            "6cca04898462c4c076a6b636742cca8ba81036e1ebd24a197c0ef3e521a3c288");
  const SeenRequest seen = engine_->Requests().back();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.Header("content-type"), "application/json");
  EXPECT_EQ(seen.Header("content-length"), std::to_string(seen.body.size()));
  EXPECT_EQ(json::parse(seen.body), body);
}

TEST_F(ClientTest, ChunkedBodyIsReadWhole) {
  const std::string list = kContainerList;
  std::string chunked =
      "HTTP/1.1 200 OK\r\n"
      "Api-Version: 1.41\r\n"
      "Content-Type: application/json\r\n"
      "Server: Docker/20.10.24+dfsg1 (linux)\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n";
  constexpr std::size_t kChunk = 300;
  for (std::size_t at = 0; at < list.size(); at += kChunk) {
    const std::string piece = list.substr(at, kChunk);
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", piece.size());
    chunked += std::string(size) + "\r\n" + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  Serve(Engine("1.41", {{"GET /v1.41/containers/json?all=true", chunked}}));
  Client client(socket_);
  const auto listed = client.Expect("list containers", "GET", "/containers/json?all=true");
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->body, list);
  EXPECT_EQ(ParseContainerIds(listed->body).value().size(), 2u);
}

TEST_F(ClientTest, SilentEngineTimesOutWithinTheCallsDeadline) {
  Serve(Engine("1.41", {{"POST /v1.41/containers/abc/wait?condition=not-running", std::nullopt}}));
  Client client(socket_);
  ASSERT_TRUE(client.Ping());
  const auto start = std::chrono::steady_clock::now();
  const auto waited = client.Call("POST", "/containers/abc/wait?condition=not-running",
                                  std::nullopt, milliseconds(200));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(waited);
  EXPECT_THAT(waited.error().message, HasSubstr("did not answer"));
  EXPECT_THAT(waited.error().message,
              HasSubstr("POST /v1.41/containers/abc/wait?condition=not-running within 200 ms"));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(ClientTest, ConstructorTimeoutAppliesByDefault) {
  Serve([](const SeenRequest&) -> Reply { return std::nullopt; });
  Client client(socket_, milliseconds(200));
  const auto version = client.Ping();
  ASSERT_FALSE(version);
  EXPECT_THAT(version.error().message, HasSubstr("did not answer GET /_ping within 200 ms"));
}

// Bug: the version negotiation of a first Call (or of the first Call after a transport
// failure) runs with the constructor's timeout, not the Call's own, so a Call can block for
// the default 15 s plus its own deadline.
TEST_F(ClientTest, NegotiationHonoursTheCallsDeadline) {
  Serve([](const SeenRequest&) -> Reply { return std::nullopt; });
  Client client(socket_, std::chrono::seconds(2));
  const auto listed = client.Call("GET", "/containers/json", std::nullopt, milliseconds(200));
  ASSERT_FALSE(listed);
  EXPECT_THAT(listed.error().message, HasSubstr("within 200 ms"));
}

TEST_F(ClientTest, RenegotiatesAfterTheEngineWasUnreachable) {
  Serve(Engine("1.41", {{"GET /v1.41/info", EngineReply(200, "OK", "{}")},
                        {"GET /v1.41/slow", std::nullopt}}));
  Client client(socket_);
  ASSERT_TRUE(client.Call("GET", "/info"));
  EXPECT_FALSE(client.Call("GET", "/slow", std::nullopt, milliseconds(200)));
  // The engine was replaced by an older one meanwhile.
  engine_->SetHandler(Engine("1.40", {{"GET /v1.40/info", EngineReply(200, "OK", "{}", "1.40")}}));
  const auto info = client.Call("GET", "/info");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->status, 200u);
  EXPECT_EQ(Targets(), (std::vector<std::string>{"GET /_ping", "GET /v1.41/info", "GET /v1.41/slow",
                                                 "GET /_ping", "GET /v1.40/info"}));
}

TEST_F(ClientTest, NoSocketIsUnreachable) {
  Client client(socket_);
  const auto version = client.Ping();
  ASSERT_FALSE(version);
  EXPECT_THAT(version.error().message, HasSubstr("unreachable"));
  EXPECT_THAT(version.error().message, HasSubstr(socket_));
}

TEST_F(ClientTest, StaleSocketWithNobodyListeningIsUnreachable) {
  {
    // A socket file whose engine is gone: connect() is refused.
    common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ASSERT_TRUE(fs::exists(socket_));
  Client client(socket_);
  const auto listed = client.Call("GET", "/containers/json");
  ASSERT_FALSE(listed);
  EXPECT_THAT(listed.error().message, HasSubstr("unreachable"));
  EXPECT_THAT(listed.error().message, HasSubstr("refused"));
}

TEST_F(ClientTest, EngineHangingUpWithoutAnswerIsAnError) {
  Serve(Engine("1.41", {{"GET /v1.41/info", std::string()}}));
  Client client(socket_);
  const auto info = client.Call("GET", "/info");
  ASSERT_FALSE(info);
  EXPECT_THAT(info.error().message, HasSubstr("GET /v1.41/info"));
}

}  // namespace
}  // namespace sandbox::docker

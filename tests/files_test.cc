// The workspace file routes end to end: the real binary, real kernels, real HTTP, on every
// backend (the kernel sees what is uploaded and the gateway what the kernel writes). The
// hostile-kernel cases plant links from inside the sandbox and check that a canary on the
// host stays untouched.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "support/server_process.h"

namespace {

namespace fs = std::filesystem;
using testing_support::HttpClient;
using testing_support::HttpReply;
using testing_support::ServerProcess;
using testing_support::TestSandbox;

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return common::HexEncode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string RandomBytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t v = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

// Peak resident memory of a process, bytes.
long PeakRss(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) * 1024;
  }
  return -1;
}

class FilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--min-idle", "2", "--max-workers", "8", "--interrupt-grace", "1",
                                 "--workspace-mb", "256", "--max-file-mb", "128"});
    ASSERT_TRUE(server_->ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // A request with the server's token (unless `headers` names one).
  static HttpReply Call(const HttpClient& c, const std::string& method, const std::string& target,
                        const std::string& body = {},
                        std::map<std::string, std::string> headers = {}) {
    headers.try_emplace("X-Auth-Token", c.token());
    return c.Request(method, target, body, headers);
  }
  static HttpReply Put(const std::string& user, const std::string& path, const std::string& body) {
    return Call(server_->Client(), "PUT", "/files?user_uuid=" + user + "&path=" + path, body);
  }
  static HttpReply Get(const std::string& user, const std::string& path,
                       const std::map<std::string, std::string>& headers = {}) {
    return Call(server_->Client(), "GET", "/files?user_uuid=" + user + "&path=" + path, "",
                headers);
  }
  static HttpReply Delete(const std::string& user, const std::string& query) {
    return Call(server_->Client(), "DELETE", "/files?user_uuid=" + user + "&" + query);
  }
  static HttpReply Run(const std::string& user, const std::string& code, double timeout = 0) {
    return server_->Client().Execute(user, code, timeout);
  }

  static ServerProcess* server_;
};

ServerProcess* FilesTest::server_ = nullptr;

TEST_F(FilesTest, BinaryRoundTripThroughTheKernel) {
  const std::string bytes = RandomBytes(1 << 20, 1);
  HttpReply put = Put("rt", "/sandbox/in/data.bin", bytes);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.Json()["sha256"], Sha256Hex(bytes));
  EXPECT_EQ(put.Json()["size"], bytes.size());
  // The kernel reads what was uploaded, from its working directory, and writes a copy.
  HttpReply run =
      Run("rt",
          "import hashlib, os, shutil\n"
          "print(os.getcwd(), hashlib.sha256(open('in/data.bin','rb').read()).hexdigest())\n"
          "shutil.copy('in/data.bin', 'out.bin')");
  ASSERT_EQ(run.status, 200) << run.body;
  // --sandbox=none has no /sandbox: the kernel works in the host directory itself.
  const std::string cwd = TestSandbox() == "none"
                              ? run.Json()["stdout"].get<std::string>().substr(
                                    0, run.Json()["stdout"].get<std::string>().find(' '))
                              : "/sandbox";
  EXPECT_EQ(run.Json()["stdout"], cwd + " " + Sha256Hex(bytes) + "\n");
  const auto files = run.Json()["files"];
  ASSERT_EQ(files.size(), 1u) << run.body;
  EXPECT_EQ(files[0]["path"], "/sandbox/out.bin");
  EXPECT_EQ(files[0]["change"], "created");
  EXPECT_EQ(files[0]["size"], bytes.size());
  HttpReply get = Get("rt", "out.bin");
  ASSERT_EQ(get.status, 200);
  EXPECT_TRUE(get.body == bytes) << get.body.size() << " bytes came back";
  EXPECT_EQ(get.headers["content-length"], std::to_string(bytes.size()));
  EXPECT_EQ(get.headers["content-type"], "application/octet-stream");
  HttpReply part = Get("rt", "out.bin", {{"Range", "bytes=100-199"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, bytes.substr(100, 100));
  EXPECT_EQ(part.headers["content-range"], "bytes 100-199/" + std::to_string(bytes.size()));
  EXPECT_EQ(Put("rt", "empty.txt", "").status, 201);
  HttpReply empty = Get("rt", "empty.txt");
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body.size(), 0u);
}

TEST_F(FilesTest, AHundredMebibytesStreamWithoutGrowingTheGateway) {
  const std::string bytes = RandomBytes(100 << 20, 2);
  const long before = PeakRss(server_->pid());
  HttpReply put = Put("big", "big.bin", bytes);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.Json()["sha256"], Sha256Hex(bytes));
  HttpReply get = Get("big", "big.bin");
  ASSERT_EQ(get.status, 200);
  EXPECT_TRUE(get.body == bytes);
  const long grown = PeakRss(server_->pid()) - before;
  EXPECT_LT(grown, 32l << 20) << "the gateway's peak RSS grew by " << grown << " bytes";
  EXPECT_EQ(Delete("big", "path=big.bin").status, 204);
}

TEST_F(FilesTest, ListingAndDeletion) {
  ASSERT_EQ(Put("ls", "a.txt", "aa").status, 201);
  ASSERT_EQ(Put("ls", "d/b.txt", "b").status, 201);
  HttpReply list = server_->Client().Get("/files/list?user_uuid=ls");
  ASSERT_EQ(list.status, 200) << list.body;
  const auto entries = list.Json()["entries"];
  ASSERT_EQ(entries.size(), 2u) << list.body;
  EXPECT_EQ(entries[0]["path"], "/sandbox/a.txt");
  EXPECT_EQ(entries[1]["type"], "dir");
  EXPECT_EQ(Delete("ls", "path=d").status, 409);
  EXPECT_EQ(Delete("ls", "path=d&recursive=true").status, 204);
  HttpReply seen = Run("ls", "import os; print(sorted(os.listdir()))");
  EXPECT_EQ(seen.Json()["stdout"], "['a.txt']\n");
  EXPECT_EQ(Get("ls", "d/b.txt").status, 404);
}

TEST_F(FilesTest, BadRequestsAreRefusedClearly) {
  EXPECT_EQ(Get("bad", "../etc/passwd").status, 400);
  EXPECT_EQ(Get("bad", "/etc/passwd").status, 400);
  EXPECT_EQ(Get("bad", "a%00b").status, 400);
  EXPECT_EQ(Call(server_->Client(), "GET", "/files?path=a").status, 400);
  EXPECT_EQ(Get("bad", "missing").status, 404);
  ASSERT_EQ(Put("bad", "dir/f", "x").status, 201);
  EXPECT_EQ(Get("bad", "dir").status, 409);
  HttpReply anonymous = Call(server_->Client(), "PUT", "/files?user_uuid=bad&path=x", "x",
                             {{"X-Auth-Token", "wrong"}});
  EXPECT_EQ(anonymous.status, 401);
}

TEST_F(FilesTest, ABrowserFormUploadsSeveralFiles) {
  const std::string csv = "a,b\n1,2\n", bin = RandomBytes(300000, 5);
  const std::string body =
      "------WebKitFormBoundaryQ7\r\nContent-Disposition: form-data; name=\"files\"; "
      "filename=\"data.csv\"\r\nContent-Type: text/csv\r\n\r\n" +
      csv +
      "\r\n------WebKitFormBoundaryQ7\r\nContent-Disposition: form-data; name=\"files\"; "
      "filename=\"blob.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n" +
      bin + "\r\n------WebKitFormBoundaryQ7--\r\n";
  const std::string request =
      "POST /files/upload?user_uuid=form&path=/sandbox/up HTTP/1.1\r\nHost: t\r\n"
      "Connection: close\r\nX-Auth-Token: " +
      server_->token() +
      "\r\nContent-Type: multipart/form-data; boundary=----WebKitFormBoundaryQ7\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string reply = server_->Client().RawWithoutShutdown(request);
  ASSERT_EQ(reply.rfind("HTTP/1.1 201", 0), 0u) << reply.substr(0, 300);
  EXPECT_NE(reply.find(Sha256Hex(bin)), std::string::npos) << reply.substr(0, 600);
  EXPECT_EQ(Get("form", "up/data.csv").body, csv);
  EXPECT_TRUE(Get("form", "up/blob.bin").body == bin);
}

TEST_F(FilesTest, TooLargeIsRefusedBeforeTheBody) {
  // Declared larger than --max-file-mb: 413 from the head, nothing written.
  const std::string raw =
      "PUT /files?user_uuid=big2&path=x.bin HTTP/1.1\r\nHost: t\r\nX-Auth-Token: " +
      server_->token() + "\r\nContent-Length: " + std::to_string(200ull << 20) + "\r\n\r\n";
  const std::string reply = server_->Client().Raw(raw);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
  EXPECT_EQ(Get("big2", "x.bin").status, 404);
}

TEST_F(FilesTest, FilesSurviveAKernelReplacementAndGoWithTheSession) {
  ASSERT_EQ(Put("keep", "kept.txt", "still here").status, 201);
  ASSERT_EQ(Run("keep", "x = 1").status, 200);
  // A cell that ignores the interrupt: the kernel is replaced.
  HttpReply stuck = Run("keep",
                        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                        "open('during.txt', 'w').write('written')\ntime.sleep(60)",
                        1);
  ASSERT_EQ(stuck.status, 400) << stuck.body;
  EXPECT_EQ(stuck.Json()["state_preserved"], false);
  EXPECT_NE(stuck.Json()["detail"].get<std::string>().find("files in /sandbox were kept"),
            std::string::npos)
      << stuck.body;
  HttpReply after = Run("keep", "import os; print(sorted(os.listdir()), 'x' in dir())");
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.Json()["stdout"], "['during.txt', 'kept.txt'] False\n");
  // The new kernel (another uid) can change what the old one wrote.
  ASSERT_EQ(Run("keep", "open('during.txt', 'a').write('!')").status, 200);
  EXPECT_EQ(Get("keep", "during.txt").body, "written!");
  ASSERT_EQ(server_->Client().Release("keep").status, 200);
  EXPECT_EQ(Get("keep", "kept.txt").status, 404) << "a new session starts empty";
}

TEST_F(FilesTest, UploadsRunBesideAnExecutionAndEachOther) {
  auto running =
      std::async(std::launch::async, [] { return Run("busy", "import time; time.sleep(2)"); });
  std::vector<std::future<HttpReply>> uploads;
  for (int i = 0; i < 4; ++i) {
    uploads.push_back(std::async(std::launch::async, [i] {
      return Put("busy", "f" + std::to_string(i), RandomBytes(4 << 20, 10 + i));
    }));
  }
  for (int i = 0; i < 4; ++i) {
    HttpReply put = uploads[i].get();
    EXPECT_EQ(put.status, 201) << put.body;
    EXPECT_EQ(put.Json()["sha256"], Sha256Hex(RandomBytes(4 << 20, 10 + i)));
  }
  EXPECT_EQ(running.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the uploads waited for the execution";
  EXPECT_EQ(running.get().status, 200);
}

TEST_F(FilesTest, LinksAndSpecialFilesPlantedByTheKernelAreNeverFollowed) {
  if (TestSandbox() == "none") GTEST_SKIP() << "nothing is isolated with --sandbox=none";
  // A canary on the host, at a path the kernel can name but not reach.
  char dir[] = "/tmp/ci-files-canary-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string canary = std::string(dir) + "/canary";
  std::ofstream(canary) << "canary";
  const std::string code =
      "import os, socket\n"
      "os.symlink('" +
      canary +
      "', 'to-canary')\n"
      "os.symlink('" +
      std::string(dir) +
      "', 'to-dir')\n"
      "os.symlink('/etc/shadow', 'shadow')\n"
      "try:\n    os.mkfifo('fifo')\nexcept PermissionError:\n    pass  # refused by the sandbox\n"
      "s = socket.socket(socket.AF_UNIX); s.bind('sock')\n";
  const HttpReply planted = Run("links", code);
  ASSERT_EQ(planted.status, 200) << planted.body.substr(0, 2000);
  EXPECT_EQ(Get("links", "to-canary").status, 409);
  EXPECT_EQ(Get("links", "to-dir/canary").status, 409);
  EXPECT_EQ(Get("links", "shadow").status, 409);
  const int fifo = Get("links", "fifo").status;
  EXPECT_TRUE(fifo == 409 || fifo == 404) << fifo;
  EXPECT_EQ(Get("links", "sock").status, 409);
  EXPECT_EQ(Put("links", "to-dir/canary", "overwritten").status, 409);
  EXPECT_EQ(Put("links", "to-canary", "replaces the link").status, 201);  // not its target
  EXPECT_EQ(Delete("links", "path=to-dir&recursive=true").status, 204);
  std::ifstream in(canary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "canary");
  EXPECT_TRUE(fs::exists(dir));
  HttpReply seen =
      Run("links", "import os; print(open('to-canary').read(), os.path.islink('to-canary'))");
  EXPECT_EQ(seen.Json()["stdout"], "replaces the link False\n");
  fs::remove_all(dir);
}

TEST_F(FilesTest, OddNamesSparseFilesAndDeepTreesAreHandled) {
  // Names with any bytes, a sparse file larger than the workspace (256 MiB), a deep tree.
  HttpReply made = Run("odd",
                       "import os\n"
                       "open(b'bad\\xffname\\n.txt', 'wb').write(b'odd')\n"
                       "with open('sparse.bin', 'wb') as f:\n"
                       "    f.truncate(900 << 20)\n"
                       "    f.seek(500 << 20); f.write(b'middle')\n"
                       "d = 'deep'\n"
                       "for i in range(200):\n"
                       "    d += '/d'\n"
                       "os.makedirs(d)\n");
  ASSERT_EQ(made.status, 200) << made.body.substr(0, 500);
  bool saw_encoded = false;
  const auto made_json = made.Json();
  for (const auto& f : made_json["files"]) {
    if (f.contains("encoded_path")) {
      saw_encoded = true;
      EXPECT_EQ(f["encoded_path"], "/sandbox/bad%FFname%0A.txt");
      HttpReply odd = Get("odd", f["encoded_path"].get<std::string>());
      EXPECT_EQ(odd.body, "odd");
    }
  }
  EXPECT_TRUE(saw_encoded) << made.body.substr(0, 500);
  HttpReply middle = Get("odd", "sparse.bin", {{"Range", "bytes=524288000-524288005"}});
  EXPECT_EQ(middle.status, 206);
  EXPECT_EQ(middle.body, "middle");
  EXPECT_EQ(middle.headers["content-range"], "bytes 524288000-524288005/943718400");
  HttpReply list = server_->Client().Get("/files/list?user_uuid=odd");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(Delete("odd", "path=deep&recursive=true").status, 409) << "deeper than the bound";
  HttpReply after = Run("odd", "import shutil; shutil.rmtree('deep'); print('ok')");
  EXPECT_EQ(after.Json()["stdout"], "ok\n");
}

TEST_F(FilesTest, AFullWorkspaceAnswers507AndKeepsWhatItHad) {
  if (TestSandbox() == "none") GTEST_SKIP() << "--sandbox=none workspaces are not limited";
  ServerProcess small({"--min-idle", "0", "--workspace-mb", "8", "--workspace-inodes", "64"});
  ASSERT_TRUE(small.ok()) << small.Log();
  const HttpClient c = small.Client();
  const std::string first = RandomBytes(6 << 20, 3);
  ASSERT_EQ(Call(c, "PUT", "/files?user_uuid=q&path=first.bin", first).status, 201);
  HttpReply full = Call(c, "PUT", "/files?user_uuid=q&path=second.bin", RandomBytes(4 << 20, 4));
  EXPECT_EQ(full.status, 507) << full.body;
  EXPECT_EQ(Call(c, "GET", "/files?user_uuid=q&path=first.bin").body, first);
  HttpReply list = c.Get("/files/list?user_uuid=q");
  ASSERT_EQ(list.Json()["entries"].size(), 1u) << list.body;  // nothing partial left
  // The kernel meets the same limits.
  HttpReply kernel = c.Execute("q", "open('k.bin','wb').write(b'x' * (4 << 20))");
  EXPECT_EQ(kernel.status, 400);
  EXPECT_NE(kernel.body.find("No space left"), std::string::npos) << kernel.body.substr(0, 300);
}

}  // namespace

// The test page in a real browser: Debian's chromium, headless, driven by chromedriver over
// the W3C WebDriver protocol (plain JSON over HTTP, spoken with the suites' own client). The
// page uploads a file into the workspace, runs code that writes one, shows the execution's
// changed files, lists the workspace and downloads a file with its Download button; it shows
// a cell's output live as it streams, then its plot.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/server_process.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ServerProcess;

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kDriver = "/usr/bin/chromedriver";

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// chromedriver as a child process, and one browser session in it.
class Browser {
 public:
  Browser() : port_(FreePort()) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string port = "--port=" + std::to_string(port_);
      ::execl(kDriver, kDriver, port.c_str(), "--log-level=OFF", nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && !ready(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const json caps = {{"capabilities",
                        {{"alwaysMatch",
                          {{"browserName", "chrome"},
                           {"goog:chromeOptions",
                            {{"binary", kChromium},
                             {"args",
                              {"--headless=new", "--no-sandbox", "--disable-gpu",
                               "--disable-dev-shm-usage"}}}}}}}}};
    const json reply = Call("POST", "/session", caps);
    session_ = reply["value"].value("sessionId", "");
  }
  ~Browser() {
    if (!session_.empty()) Call("DELETE", "/session/" + session_, nullptr);
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ok() const { return !session_.empty(); }

  // One WebDriver command, with curl (chromedriver keeps connections open, which the suites'
  // read-until-close client does not expect).
  json Call(const std::string& method, const std::string& path, const json& body) const {
    const std::string file = "/tmp/ci-page-test-body-" + std::to_string(::getpid());
    std::ofstream(file) << (body.is_null() ? "" : body.dump());
    const std::string command = "curl -s -m 60 -X " + method +
                                " -H 'Content-Type: application/json' --data-binary @" + file +
                                " http://127.0.0.1:" + std::to_string(port_) + path;
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
      char buf[4096];
      for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
      ::pclose(p);
    }
    std::remove(file.c_str());
    return json::parse(out, nullptr, false);
  }
  json Session(const std::string& method, const std::string& path,
               const json& body = json::object()) const {
    return Call(method, "/session/" + session_ + path, body)["value"];
  }
  std::string Find(const std::string& css) const {
    const json v = Session("POST", "/element", {{"using", "css selector"}, {"value", css}});
    return v.is_object() && !v.empty() ? v.begin().value().get<std::string>() : "";
  }
  void Type(const std::string& css, const std::string& text) const {
    const std::string e = Find(css);
    Session("POST", "/element/" + e + "/clear");
    Session("POST", "/element/" + e + "/value", {{"text", text}});
  }
  void Click(const std::string& css) const { Session("POST", "/element/" + Find(css) + "/click"); }
  // Saves what the page shows as a test artifact: $CI_ARTIFACTS_DIR (default test-artifacts,
  // under the test's working directory)/NAME.png. True when written.
  bool Screenshot(const std::string& name) const {
    const json v = Session("GET", "/screenshot");
    if (!v.is_string()) return false;
    const char* env = std::getenv("CI_ARTIFACTS_DIR");
    const fs::path dir =
        env != nullptr && *env != '\0' ? fs::path(env) : fs::path("test-artifacts");
    std::error_code ec;
    fs::create_directories(dir, ec);
    std::ofstream out(dir / (name + ".png"), std::ios::binary);
    out << testing_support::DecodeBase64(v.get<std::string>());
    return static_cast<bool>(out);
  }
  std::string Text(const std::string& css) const {
    const json v = Session("GET", "/element/" + Find(css) + "/text");
    return v.is_string() ? v.get<std::string>() : "";
  }
  // Waits (polling the page, up to 30 s) until the element's text contains `what`.
  bool WaitForText(const std::string& css, const std::string& what) const {
    for (int i = 0; i < 300; ++i) {
      if (Text(css).find(what) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  bool ready() const {
    const json status = Call("GET", "/status", nullptr);
    return status.is_object() && status["value"].value("ready", false);
  }
  int port_;
  pid_t pid_ = -1;
  std::string session_;
};

TEST(PageTest, UploadRunListAndDownloadInARealBrowser) {
  if (::access(kChromium, X_OK) != 0 || ::access(kDriver, X_OK) != 0)
    GTEST_SKIP() << "needs Debian's chromium and chromium-driver";
  ServerProcess server({"--min-idle", "1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  Browser browser;
  ASSERT_TRUE(browser.ok()) << "chromedriver did not start a session";
  char dir[] = "/tmp/ci-page-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string upload = std::string(dir) + "/in.csv";
  std::ofstream(upload) << "a,b\n1,2\n";

  browser.Session("POST", "/url",
                  {{"url", "http://127.0.0.1:" + std::to_string(server.port()) + "/"}});
  browser.Type("#token", server.token());
  browser.Session("POST", "/element/" + browser.Find("#upload") + "/value", {{"text", upload}});
  browser.Click("#send");
  EXPECT_TRUE(browser.WaitForText("#files", "/sandbox/in.csv")) << browser.Text("#filesBusy");

  browser.Type(
      "#code",
      "print(open('in.csv').read().count(','))\nopen('made.txt', 'w').write('made by the kernel')");
  browser.Click("#run");
  // (Headings are upper-cased by the page's style, which WebDriver's text applies.)
  EXPECT_TRUE(browser.WaitForText("#result", "FILES CHANGED (1)")) << browser.Text("#result");
  EXPECT_NE(browser.Text("#result").find("/sandbox/made.txt"), std::string::npos);
  browser.Click("#list");
  EXPECT_TRUE(browser.WaitForText("#files", "/sandbox/made.txt")) << browser.Text("#files");

  // The Download button: capture the Blob the page makes a link of (the page's CSP keeps
  // fetch() off blob: URLs) and the file name it saves it as.
  const json downloaded = browser.Session(
      "POST", "/execute/async",
      {{"script",
        "const done = arguments[arguments.length - 1];"
        "let blob = null;"
        "URL.createObjectURL = (b) => { blob = b; return 'blob:captured'; };"
        "HTMLAnchorElement.prototype.click = function () {"
        "  const name = this.download; blob.text().then((t) => done(name + ':' + t)); };"
        "const row = [...document.querySelectorAll('#files tr')]"
        "    .find((r) => r.textContent.includes('made.txt'));"
        "row.querySelector('button').click();"},
       {"args", json::array()}});
  EXPECT_EQ(downloaded, "made.txt:made by the kernel");
  EXPECT_TRUE(browser.Screenshot("page-upload-run-list-download"));
  fs::remove_all(dir);
}

// The page streams: a line printed before a pause is on the page while the cell still runs,
// the line after it and the plot once it ends (the final answer replaces the live view).
TEST(PageTest, StreamedLinesAppearBeforeTheCellEndsThenThePlot) {
  if (::access(kChromium, X_OK) != 0 || ::access(kDriver, X_OK) != 0)
    GTEST_SKIP() << "needs Debian's chromium and chromium-driver";
  ServerProcess server({"--min-idle", "1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  Browser browser;
  ASSERT_TRUE(browser.ok()) << "chromedriver did not start a session";
  browser.Session("POST", "/url",
                  {{"url", "http://127.0.0.1:" + std::to_string(server.port()) + "/"}});
  browser.Type("#token", server.token());
  browser.Type("#code",
               "import time\nprint('first line', flush=True)\ntime.sleep(4)\n"
               "print('second line')\nimport matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\n"
               "plt.show()");
  browser.Click("#run");
  ASSERT_TRUE(browser.WaitForText("#result", "first line")) << browser.Text("#result");
  const std::string live = browser.Text("#result");
  EXPECT_EQ(live.find("second line"), std::string::npos) << "the cell sleeps 4 s after it";
  EXPECT_NE(live.find("running"), std::string::npos) << live;
  const json scroll = {{"script", "document.getElementById('result').scrollIntoView();"},
                       {"args", json::array()}};
  browser.Session("POST", "/execute/sync", scroll);
  EXPECT_TRUE(browser.Screenshot("page-streaming-live"));
  ASSERT_TRUE(browser.WaitForText("#result", "second line")) << browser.Text("#result");
  EXPECT_TRUE(browser.WaitForText("#result", "OUTPUTS (1)")) << browser.Text("#result");
  const json src = browser.Session(
      "POST", "/execute/sync",
      {{"script", "const img = document.querySelector('#result img'); return img ? img.src : '';"},
       {"args", json::array()}});
  ASSERT_TRUE(src.is_string());
  EXPECT_TRUE(src.get<std::string>().starts_with("data:image/png;base64,iVBORw0KGgo")) << src;
  browser.Session("POST", "/execute/sync", scroll);
  EXPECT_TRUE(browser.Screenshot("page-streaming-done"));
}

// A page opened from file:// (origin "null") calls the API with fetch(): the JSON body and
// the X-Auth-Token header make the browser send a preflight first. The default --cors-origins
// lets it through, errors included; a server with CORS turned off is refused by the browser.
TEST(PageTest, APageOpenedFromAFileCallsTheApiWithFetch) {
  if (::access(kChromium, X_OK) != 0 || ::access(kDriver, X_OK) != 0)
    GTEST_SKIP() << "needs Debian's chromium and chromium-driver";
  ServerProcess server({"--min-idle", "1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  ServerProcess closed({"--min-idle", "0", "--cors-origins", ""});
  ASSERT_TRUE(closed.ok()) << closed.Log();
  Browser browser;
  ASSERT_TRUE(browser.ok()) << "chromedriver did not start a session";
  char dir[] = "/tmp/ci-page-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string page = std::string(dir) + "/client.html";
  std::ofstream(page) << R"(<!doctype html><meta charset="utf-8"><title>client</title>
<script>
async function call(base, token, path, body) {
  try {
    const r = await fetch(base + path, {method: 'POST', body: JSON.stringify(body),
        headers: {'Content-Type': 'application/json', 'X-Auth-Token': token}});
    const j = await r.json();
    return r.status + ':' + (j.result_text ?? j.detail);
  } catch (e) {
    return 'refused: ' + e.name;
  }
}
</script>)";
  browser.Session("POST", "/url", {{"url", "file://" + page}});
  const auto call = [&](const ServerProcess& s, const std::string& token, const json& body) {
    const std::string base = "http://127.0.0.1:" + std::to_string(s.port());
    return browser.Session(
        "POST", "/execute/async",
        {{"script",
          "const done = arguments[arguments.length - 1];"
          "call(arguments[0], arguments[1], '/execute', arguments[2]).then(done);"},
         {"args", {base, token, body}}});
  };
  const json body = {{"user_uuid", "from-a-file"}, {"code", "6 * 7"}};
  EXPECT_EQ(call(server, server.token(), body), "200:42");
  EXPECT_EQ(call(server, "wrong-token", body), "401:Missing or invalid X-Auth-Token")
      << "an error is readable cross-origin too";
  EXPECT_EQ(call(closed, closed.token(), body), "refused: TypeError");
  EXPECT_TRUE(browser.Screenshot("page-from-file-url"));
  fs::remove_all(dir);
}

}  // namespace

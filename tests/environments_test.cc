// Environments end to end: the built ones (python, minimal) served by the sandbox under test,
// and a custom one built by this suite from tests/environments/ci-tiny. Needs root (building,
// and the namespaces sandbox) and, for the built ones, `env build python|minimal` first
// (scripts/test.sh does it, with --docker); a missing build fails the test, it is not skipped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/server_process.h"

namespace {

namespace fs = std::filesystem;
using testing_support::ServerProcess;
using testing_support::TestSandbox;

// Every library the recipe lists (environments/python/check.py checks the same at build).
constexpr char kPythonImports[] =
    "import numpy, pandas, scipy, sympy, sklearn, statsmodels, networkx, matplotlib, seaborn, "
    "plotly, PIL, cv2, skimage, openpyxl, xlrd, xlsxwriter, docx, pypdf, reportlab, lxml, bs4, "
    "requests, tabulate, tqdm, yaml, jieba, ipykernel\n"
    "import shutil\n"
    "print([t for t in ('ffmpeg', 'convert', 'pdftotext') if shutil.which(t) is None])";

// A CJK title with missing glyphs warns ("Glyph ... missing from current font"): make any
// warning an error, and report the font matplotlib resolves for the title.
constexpr char kCjkTitle[] =
    "import warnings, io\n"
    "import matplotlib.pyplot as plt\n"
    "from matplotlib import font_manager\n"
    "with warnings.catch_warnings():\n"
    "    warnings.simplefilter('error')\n"
    "    fig = plt.figure(); fig.suptitle('绘图功能正常'); fig.savefig(io.BytesIO(), "
    "format='png')\n"
    "fonts = font_manager.fontManager._find_fonts_by_props(fig._suptitle.get_fontproperties())\n"
    "print(any('wqy' in f for f in fonts))";

class EnvironmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestSandbox() == "none") GTEST_SKIP() << "--sandbox=none offers the host's Python only";
  }
};

TEST_F(EnvironmentsTest, DefaultAndMinimalRunTheirOwnSystems) {
  ServerProcess server({"--environment", "python,minimal", "--min-idle", "1,minimal=1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const auto c = server.Client();

  auto r = c.Execute("rich", kPythonImports);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "[]\n") << "every library imports and the tools are there";
  r = c.Execute("rich", kCjkTitle);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "True\n") << "the title resolves to the CJK font, with no warning";
  r = c.Execute("rich", "import pandas, sklearn, seaborn\npandas.DataFrame({'a': [1, 2]}).a.sum()");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "3");

  // The minimal environment has no pandas: the kernel runs on its root, not the other's.
  const std::string minimal =
      R"js({"user_uuid": "small", "environment": "minimal", "code": "import numpy, matplotlib\ntry:\n    import pandas\n    print('pandas')\nexcept ImportError:\n    print('no pandas')"})js";
  r = c.Post("/execute", minimal);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "no pandas\n");
  r = c.Get("/sessions/small");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["environment"], "minimal");
  EXPECT_EQ(c.Get("/sessions/rich").Json()["environment"], "python");

  // A session keeps its environment; another is refused, an unknown one lists the known.
  r = c.Post("/execute", R"({"user_uuid": "small", "environment": "python", "code": "1"})");
  EXPECT_EQ(r.status, 409) << r.body;
  r = c.Post("/sessions", R"({"user_uuid": "other", "environment": "nope"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("minimal, python"), std::string::npos) << r.body;

  const auto status = c.Get("/status").Json();
  EXPECT_EQ(status["default_environment"], "python");
  ASSERT_EQ(status["environments"].size(), 2u) << status;
  for (const auto& env : status["environments"]) {
    EXPECT_EQ(env["sessions"], 1) << env;
    EXPECT_EQ(env["min_idle_workers"], 1) << env;
  }

  // A file call may create the session too, in the environment its query names.
  r = c.Get("/files/list?user_uuid=lister&environment=minimal");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(c.Get("/sessions/lister").Json()["environment"], "minimal");
  EXPECT_EQ(c.Get("/files/list?user_uuid=lister&environment=python").status, 409);
  r = c.Get("/files/list?user_uuid=lister2&environment=nope");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("minimal, python"), std::string::npos) << r.body;
  r = c.Execute("lister", "import importlib.util\nimportlib.util.find_spec('pandas') is None");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "True") << "its kernel runs the minimal root";
}

// The sandbox's init runs as an unprivileged uid, and a directory above the store may be
// closed to it: the state dir, the default store's parent, is 0700 once a gateway started
// with it. Init gets the environment's root as a descriptor, so that does not matter. Here
// the store is a 0700 directory whose "minimal" leads to the machine's build.
TEST_F(EnvironmentsTest, AStoreBelowADirectoryClosedToTheSandboxIsServed) {
  if (::geteuid() != 0) GTEST_SKIP() << "the machine's store is root's";
  // Not below /tmp, which init covers with the new root before it mounts the system.
  char templ[] = "/var/tmp/ci-closed-store-XXXXXX";  // mkdtemp: mode 0700
  ASSERT_NE(::mkdtemp(templ), nullptr);
  const fs::path store = fs::path(templ) / "environments";
  fs::create_directories(store);
  fs::create_symlink("/var/lib/code-interpreter/environments/minimal", store / "minimal");
  {
    ServerProcess server(
        {"--environment", "minimal", "--env-store", store.string(), "--min-idle", "1"});
    ASSERT_TRUE(server.ok()) << server.Log();
    const auto r = server.Client().Execute(
        "closed", "import importlib.util\nimportlib.util.find_spec('pandas') is None");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.ResultText(), "True") << "its kernel runs the minimal root";
  }
  fs::remove_all(templ);
}

// Builds tests/environments/ci-tiny with the real builder into the machine's store (sharing
// its cached base and packages), serves it, and removes it.
TEST_F(EnvironmentsTest, ACustomEnvironmentIsBuiltAndServed) {
  if (::geteuid() != 0) GTEST_SKIP() << "building an environment needs root";
  const fs::path recipes = fs::temp_directory_path() / ("ci-recipes-" + std::to_string(::getpid()));
  fs::create_directories(recipes);
  fs::copy(fs::path(SOURCE_DIR) / "tests/environments/ci-tiny", recipes / "ci-tiny");
  for (const char* script : {"build-root.sh", "docker-import.sh"})
    fs::copy_file(fs::path(SOURCE_DIR) / "environments" / script, recipes / script);
  const std::string binary = CI_BINARY;
  const std::string docker = TestSandbox() == "docker" ? " --docker" : "";
  const std::string build = binary + " env build ci-tiny --recipes " + recipes.string() + docker;
  ASSERT_EQ(std::system(build.c_str()), 0) << build;
  // Built once: the second run finds the same recipe hash in the store.
  const std::string again = build + " | grep -q 'is up to date'";
  EXPECT_EQ(std::system(again.c_str()), 0);

  {
    ServerProcess server({"--environment", "ci-tiny", "--min-idle", "1"});
    ASSERT_TRUE(server.ok()) << server.Log();
    const auto r = server.Client().Execute(
        "tiny", "import tabulate\nprint(open('/etc/ci-tiny-marker').read().strip())");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.ResultText(), "built by setup.sh\n");
  }
  const std::string remove = binary + " env remove ci-tiny --recipes " + recipes.string();
  EXPECT_EQ(std::system(remove.c_str()), 0);
  ServerProcess gone({"--environment", "ci-tiny"});
  EXPECT_FALSE(gone.ok()) << "an environment that is not built is refused at start";
  EXPECT_NE(gone.Log().find("env build ci-tiny"), std::string::npos) << gone.Log();
  fs::remove_all(recipes);
}

}  // namespace

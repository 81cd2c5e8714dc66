#include "environments/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

namespace environments {
namespace {

namespace fs = std::filesystem;
using common::Fail;
using common::Result;
using nlohmann::json;

// Writes `text` to `path` through a temporary file renamed over it.
Result<void> WriteAtomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!(out << text) || !out.flush()) return Fail("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Fail("cannot rename " + tmp.string() + ": " + ec.message());
  return {};
}

json ToJson(const Built& b) {
  return {{"name", b.name},
          {"hash", b.hash},
          {"size_bytes", b.size_bytes},
          {"build_seconds", b.build_seconds},
          {"built_at", b.built_at},
          {"docker_image", b.docker_image}};
}

Result<Built> ReadBuild(const fs::path& dir, const std::string& name) {
  auto hash = ReadText(dir / name / "current");
  if (!hash) return Fail("environment \"" + name + "\" is not built");
  while (!hash->empty() && (hash->back() == '\n' || hash->back() == ' ')) hash->pop_back();
  const fs::path build = dir / name / *hash;
  auto text = ReadText(build / "manifest.json");
  if (!text)
    return Fail("environment \"" + name + "\" has no manifest (" + text.error().message + ")");
  try {
    const json m = json::parse(*text);
    Built b;
    b.name = name;
    b.hash = *hash;
    b.root = build / "root";
    b.size_bytes = m.value("size_bytes", std::uint64_t{0});
    b.build_seconds = m.value("build_seconds", 0.0);
    b.built_at = m.value("built_at", "");
    b.docker_image = m.value("docker_image", "");
    if (!fs::is_directory(b.root)) return Fail("environment \"" + name + "\" has no root");
    return b;
  } catch (const json::exception& e) {
    return Fail("environment \"" + name + "\": bad manifest: " + e.what());
  }
}

}  // namespace

Result<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 32 || name == "host") return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_'))) return false;
  }
  return true;
}

Result<std::vector<Built>> Store::List() const {
  std::vector<Built> built;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec)
    return ec == std::errc::no_such_file_or_directory
               ? Result<std::vector<Built>>(built)
               : Fail("cannot list " + dir_.string() + ": " + ec.message());
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!ValidName(name) || !entry.is_directory()) continue;
    if (auto b = ReadBuild(dir_, name)) built.push_back(std::move(*b));
  }
  std::sort(built.begin(), built.end(),
            [](const Built& a, const Built& b) { return a.name < b.name; });
  return built;
}

Result<Built> Store::Find(const std::string& name) const {
  if (!ValidName(name)) return Fail("\"" + name + "\" is not an environment name");
  return ReadBuild(dir_, name);
}

Result<fs::path> Store::NewBuildDir() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Fail("cannot create " + dir_.string() + ": " + ec.message());
  ::chmod(dir_.c_str(), 0755);  // sandboxes (unprivileged ids) mount roots from below it
  std::string tmpl = (dir_ / ".build-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return common::ErrnoFail("mkdtemp(" + tmpl + ")");
  ::chmod(tmpl.c_str(), 0755);
  return fs::path(tmpl);
}

Result<Built> Store::Install(const fs::path& build_dir, Built built) const {
  std::error_code ec;
  const fs::path name_dir = dir_ / built.name;
  fs::create_directories(name_dir, ec);
  if (ec) return Fail("cannot create " + name_dir.string() + ": " + ec.message());
  ::chmod(name_dir.c_str(), 0755);
  const fs::path target = name_dir / built.hash;
  const auto previous = ReadText(name_dir / "current");
  fs::remove_all(target, ec);  // an incomplete earlier install of the same hash
  if (auto w = WriteAtomically(build_dir / "manifest.json", ToJson(built).dump(2) + "\n"); !w)
    return std::unexpected(w.error());
  fs::rename(build_dir, target, ec);
  if (ec) return Fail("cannot move the build into " + target.string() + ": " + ec.message());
  if (auto w = WriteAtomically(name_dir / "current", built.hash + "\n"); !w)
    return std::unexpected(w.error());
  if (previous && previous->substr(0, previous->find('\n')) != built.hash)
    fs::remove_all(name_dir / previous->substr(0, previous->find('\n')), ec);
  built.root = target / "root";
  return built;
}

void Store::Discard(const fs::path& build_dir) const {
  std::error_code ec;
  fs::remove_all(build_dir, ec);
}

Result<void> Store::SetDockerImage(const Built& built, const std::string& image) const {
  Built updated = built;
  updated.docker_image = image;
  return WriteAtomically(dir_ / built.name / built.hash / "manifest.json",
                         ToJson(updated).dump(2) + "\n");
}

Result<bool> Store::Remove(const std::string& name) const {
  if (!ValidName(name)) return Fail("\"" + name + "\" is not an environment name");
  std::error_code ec;
  const auto removed = fs::remove_all(dir_ / name, ec);
  if (ec) return Fail("cannot remove " + (dir_ / name).string() + ": " + ec.message());
  return removed > 0;
}

std::uint64_t DiskUsage(const fs::path& root) {
  struct stat top {};
  if (::lstat(root.c_str(), &top) != 0) return 0;
  std::uint64_t total = static_cast<std::uint64_t>(top.st_blocks) * 512;
  std::error_code ec;
  // The iterator follows no directory link; lstat counts a link itself, not its target.
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_dev != top.st_dev) {  // another mount: not counted, not entered
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    total += static_cast<std::uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

}  // namespace environments

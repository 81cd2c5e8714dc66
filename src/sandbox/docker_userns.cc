#include "sandbox/docker_userns.h"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>

#include "sandbox/uid_slots.h"

namespace sandbox::docker {
namespace {

// A decimal id of 32 bits: digits only (no sign, no space), no overflow.
std::optional<unsigned> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  for (const char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  unsigned long long value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() ||
      value > std::numeric_limits<unsigned>::max())
    return std::nullopt;
  return static_cast<unsigned>(value);
}

// "name=userns" among the comma-separated fields of one SecurityOptions entry.
bool IsUsernsOption(std::string_view option) {
  while (!option.empty()) {
    const auto comma = option.find(',');
    if (option.substr(0, comma) == "name=userns") return true;
    if (comma == std::string_view::npos) break;
    option.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

HostIds HostIdsOf(const std::optional<Remap>& remap, unsigned uid) {
  if (!remap) return {uid, uid};
  return {remap->uid_start + uid, remap->gid_start + uid};
}

common::Result<std::optional<Remap>> RemapFromInfo(const std::string& info_body) {
  const auto info = nlohmann::json::parse(info_body, nullptr, /*allow_exceptions=*/false);
  if (!info.is_object()) return common::Fail("docker: engine info is not a JSON object");
  const auto options = info.find("SecurityOptions");
  if (options == info.end() || !options->is_array())
    return common::Fail("docker: engine info has no SecurityOptions list");
  bool remapped = false;
  for (const auto& option : *options)
    if (option.is_string() && IsUsernsOption(option.get_ref<const std::string&>())) remapped = true;
  if (!remapped) return std::nullopt;

  // Why the root dir and not /etc/subuid's line for "dockremap": the engine may remap to any
  // user (--userns-remap=user:group), which may own several ranges; the engine names its root
  // dir after the host ids its containers' root has, so this is its own word for which range
  // it uses, whatever user and files it took it from.
  const auto root = info.find("DockerRootDir");
  if (root == info.end() || !root->is_string())
    return common::Fail(
        "docker: the engine remaps user namespaces but its info has no "
        "DockerRootDir");
  const std::string& dir = root->get_ref<const std::string&>();
  const std::string_view name = std::string_view(dir).substr(dir.rfind('/') + 1);
  const auto dot = name.find('.');
  const auto uid = dot == std::string_view::npos ? std::nullopt : ParseId(name.substr(0, dot));
  const auto gid = dot == std::string_view::npos ? std::nullopt : ParseId(name.substr(dot + 1));
  if (!uid || !gid || *uid == 0 || *gid == 0) {
    return common::Fail("docker: the engine remaps user namespaces, but its root dir \"" + dir +
                        "\" does not end in /<uid>.<gid> of its range (as dockerd names it)");
  }
  return Remap{.uid_start = *uid, .gid_start = *gid, .size = 0};
}

std::optional<unsigned> SubordinateCount(const std::string& text, unsigned start) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string_view view(line);
    const auto from = ParseId(view.substr(first + 1, second - first - 1));
    const auto count = ParseId(view.substr(second + 1));
    if (from && count && *from == start && *count > 0) return count;
  }
  return std::nullopt;
}

bool IdMapMaps(const std::string& map_text, unsigned inside, unsigned outside) {
  std::istringstream lines(map_text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    unsigned long long in = 0, out = 0, count = 0;
    if (!(fields >> in >> out >> count)) continue;
    if (inside >= in && inside - in < count) return out + (inside - in) == outside;
  }
  return false;
}

unsigned RemappedContainerUid(unsigned slot_uid) {
  const unsigned offset = slot_uid - UidSlots::kBase;
  const unsigned range = offset / UidSlots::kPerInstance % kRemappedRanges;
  return kRemappedFirstUid + range * UidSlots::kSlots + offset % UidSlots::kPerInstance;
}

unsigned RemappedLastUid(unsigned base) {
  return RemappedContainerUid(base + UidSlots::kSlots - 1);
}

common::Result<void> CheckRemappedUidsFit(const Remap& remap, unsigned base) {
  const unsigned first = RemappedContainerUid(base);
  const unsigned last = RemappedLastUid(base);
  constexpr unsigned kMax = std::numeric_limits<unsigned>::max();
  if (last < remap.size && remap.uid_start <= kMax - remap.size &&
      remap.gid_start <= kMax - remap.size)
    return {};
  return common::Fail("docker: the engine remaps user namespaces into " +
                      std::to_string(remap.size) + " ids from host uid " +
                      std::to_string(remap.uid_start) + ", gid " + std::to_string(remap.gid_start) +
                      "; this instance's container uids " + std::to_string(first) + ".." +
                      std::to_string(last) + " do not fit (give the remap user at least " +
                      std::to_string(last + 1) + " ids in /etc/subuid and /etc/subgid)");
}

}  // namespace sandbox::docker

#include "cli/serve_environments.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <map>
#include <optional>

#include "environments/store.h"

namespace cli {
namespace {

using common::Fail;
using common::Result;

Result<sandbox::Environment> Load(const environments::Store& store, const std::string& name,
                                  const std::string& backend) {
  if (name == "host") return sandbox::Environment{};
  if (backend == "none")
    return Fail("--sandbox=none runs the host's own Python: it offers environment \"host\" only");
  auto built = store.Find(name);
  if (!built) {
    return Fail(built.error().message + " in " + store.Dir().string() +
                ": build it with `code-interpreter env build " + name +
                (backend == "docker" ? " --docker`" : "`"));
  }
  if (backend == "docker" && built->docker_image.empty()) {
    return Fail("environment \"" + name +
                "\" has no docker image: run `code-interpreter env build " + name + " --docker`");
  }
  return sandbox::Environment{.name = name, .root = built->root, .image = built->docker_image};
}

// --min-idle entries by environment name ("" for the default).
Result<std::map<std::string, std::size_t>> ParseMinIdle(const std::vector<std::string>& specs) {
  std::map<std::string, std::size_t> counts;
  for (const std::string& spec : specs) {
    const auto eq = spec.find('=');
    const std::string name = eq == std::string::npos ? "" : spec.substr(0, eq);
    const std::string number = eq == std::string::npos ? spec : spec.substr(eq + 1);
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size())
      return Fail("--min-idle takes N or NAME=N, not \"" + spec + "\"");
    counts[name] = value;
  }
  return counts;
}

}  // namespace

Result<std::vector<pool::EnvironmentConfig>> ResolveEnvironments(const ServeOptions& o) {
  const environments::Store store(o.env_store.empty() ? DefaultEnvStore() : o.env_store);
  std::vector<std::string> names = o.environments;
  std::optional<sandbox::Environment> default_python;  // loaded once when chosen by default
  if (names.empty()) {
    auto python = o.sandbox == "none" ? Result<sandbox::Environment>(Fail(""))
                                      : Load(store, "python", o.sandbox);
    names.push_back(python ? "python" : "host");
    if (python) default_python = std::move(*python);
    if (!python && o.sandbox != "none") {
      spdlog::warn("serving the host's own Python (environment \"host\"): {}",
                   python.error().message);
    }
  }
  auto min_idle = ParseMinIdle(o.min_idle);
  if (!min_idle) return std::unexpected(min_idle.error());
  std::vector<pool::EnvironmentConfig> configs;
  for (const std::string& name : names) {
    for (const auto& c : configs) {
      if (c.environment.name == name) return Fail("--environment names \"" + name + "\" twice");
    }
    auto environment = default_python ? Result<sandbox::Environment>(*default_python)
                                      : Load(store, name, o.sandbox);
    if (!environment) return std::unexpected(environment.error());
    // NAME=N first; the default environment also takes a bare N, and keeps 2 otherwise.
    const auto given = [&](const std::string& key) -> std::optional<std::size_t> {
      const auto it = min_idle->find(key);
      return it == min_idle->end() ? std::nullopt : std::optional(it->second);
    };
    const std::size_t warm = given(name).value_or(configs.empty() ? given("").value_or(2) : 0);
    configs.push_back({.environment = std::move(*environment), .min_idle = warm});
  }
  for (const auto& [name, count] : *min_idle) {
    bool known = name.empty();
    for (const auto& c : configs) known = known || c.environment.name == name;
    if (!known)
      return Fail("--min-idle names \"" + name + "\", which --environment does not serve");
  }
  return configs;
}

}  // namespace cli

// The file routes' query parsing (src/gateway/query.h) and what follows it: `?...` of a
// /files request as it arrives on the request line, then its `path` through ParseClientPath
// and its `range` through ChooseRange against a size taken from the input. Oracles: a parsed
// query has no NUL in any name or value and no name twice; a refusal has a valid UTF-8
// message; a chosen range lies inside the file and is never empty; a boolean parameter is
// true, false or a refusal.

#include <string>
#include <string_view>

#include "common/text.h"
#include "fuzz/check.h"
#include "fuzz/targets.h"
#include "gateway/byte_range.h"
#include "gateway/query.h"
#include "workspace/client_path.h"

namespace fuzz {

void FuzzFileQuery(std::string_view input) {
  const std::string target = "/files?" + std::string(input);
  auto params = gateway::ParseQuery(target);
  if (!params) {
    FUZZ_CHECK(common::IsValidUtf8(common::Printable(params.error().message, 4096)),
               "the refusal cannot be shown");
    return;
  }
  for (const auto& [name, value] : *params) {
    FUZZ_CHECK(name.find('\0') == std::string::npos, "a NUL in a parameter name");
    FUZZ_CHECK(value.find('\0') == std::string::npos, "a NUL in a parameter value");
  }
  if (const auto path = params->find("path"); path != params->end()) {
    for (const auto use : {workspace::PathUse::kFile, workspace::PathUse::kDirectory}) {
      auto parsed = workspace::ParseClientPath(path->second, use);
      if (!parsed) continue;
      for (const std::string& name : *parsed)
        FUZZ_CHECK(workspace::IsValidComponent(name), "an invalid component was accepted");
    }
  }
  (void)gateway::BoolParam(*params, "recursive");
  if (const auto range = params->find("range"); range != params->end()) {
    for (const std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1},
                                     std::uint64_t(input.size()), std::uint64_t{1} << 40}) {
      const gateway::RangeChoice choice = gateway::ChooseRange(range->second, size);
      if (!choice.range) continue;
      FUZZ_CHECK(!choice.unsatisfiable, "a range both chosen and unsatisfiable");
      FUZZ_CHECK(choice.range->length > 0, "an empty range");
      FUZZ_CHECK(choice.range->offset < size, "a range starting past the end");
      FUZZ_CHECK(choice.range->length <= size - choice.range->offset, "a range past the end");
    }
  }
}

}  // namespace fuzz

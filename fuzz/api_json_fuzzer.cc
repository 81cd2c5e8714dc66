// libFuzzer entry for the api_json target; the harness is FuzzApiJson (fuzz/targets.h).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzApiJson(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

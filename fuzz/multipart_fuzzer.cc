// libFuzzer entry for the multipart target; the harness is FuzzMultipart (fuzz/targets.h).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzMultipart(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

#include "sandbox/uid_slots.h"

#include "common/crypto.h"

namespace sandbox {

unsigned UidSlots::BaseFor(const std::string& scope) {
  common::HmacSha256 digest("code-interpreter uid range");
  digest.Update(scope);
  const auto range = std::stoul(digest.FinishHex().substr(0, 6), nullptr, 16) % kRanges;
  return kBase + static_cast<unsigned>(range) * kPerInstance;
}

}  // namespace sandbox

// The sandbox's system-call policy as data, shared by both backends: the namespaces backend
// loads it with libseccomp (seccomp.h: InstallSeccomp), the docker backend hands the same
// rules to the engine as a seccomp profile (DockerSeccompProfile). An allowlist: a call that
// no entry allows fails with EPERM; the table in docs/security.md compares it rule by rule
// with Docker's default profile. Immutable after first use; safe from any thread.
#pragma once

#include <cstdint>
#include <vector>

namespace sandbox {

enum class ArgOp { kEq, kNe, kGe, kMaskedEq };

// One comparison of a system-call argument. kMaskedEq holds when (arg & value) == value_two
// (the order of libseccomp's SCMP_CMP_MASKED_EQ and of Docker's value/valueTwo).
struct ArgCheck {
  unsigned index;
  ArgOp op;
  std::uint64_t value;
  std::uint64_t value_two;
};

// A call with argument checks (all must hold; none: every call of that name), and what it
// gets: allowed (errno_ret 0) or failed with errno_ret.
struct SeccompRule {
  const char* name;
  int errno_ret;
  std::vector<ArgCheck> args;
};

struct SeccompPolicy {
  std::vector<const char*> allowed;  // allowed with any arguments
  std::vector<SeccompRule> rules;    // everything else that is not plain EPERM
};

const SeccompPolicy& Policy();

}  // namespace sandbox

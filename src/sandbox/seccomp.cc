#include "sandbox/seccomp.h"

#include <errno.h>
#include <seccomp.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "sandbox/seccomp_policy.h"

namespace sandbox {
namespace {

struct Deleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

common::Result<void> Check(int rc, const std::string& what) {
  if (rc < 0) return common::ErrnoFail("seccomp " + what, -rc);
  return {};
}

scmp_compare Compare(ArgOp op) {
  switch (op) {
    case ArgOp::kEq:
      return SCMP_CMP_EQ;
    case ArgOp::kNe:
      return SCMP_CMP_NE;
    case ArgOp::kGe:
      return SCMP_CMP_GE;
    case ArgOp::kMaskedEq:
      return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

const char* DockerOp(ArgOp op) {
  switch (op) {
    case ArgOp::kEq:
      return "SCMP_CMP_EQ";
    case ArgOp::kNe:
      return "SCMP_CMP_NE";
    case ArgOp::kGe:
      return "SCMP_CMP_GE";
    case ArgOp::kMaskedEq:
      return "SCMP_CMP_MASKED_EQ";
  }
  return "SCMP_CMP_EQ";
}

common::Result<void> AddRule(scmp_filter_ctx ctx, const SeccompRule& rule) {
  const int nr = seccomp_syscall_resolve_name(rule.name);
  if (nr == __NR_SCMP_ERROR) return {};  // not on this architecture
  std::vector<scmp_arg_cmp> args;
  for (const ArgCheck& a : rule.args)
    args.push_back({a.index, Compare(a.op), a.value, a.value_two});
  const std::uint32_t action =
      rule.errno_ret == 0 ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(rule.errno_ret);
  return Check(seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()),
                                      args.empty() ? nullptr : args.data()),
               rule.name);
}

}  // namespace

common::Result<void> InstallSeccomp() {
  std::unique_ptr<void, Deleter> ctx(seccomp_init(SCMP_ACT_ERRNO(EPERM)));
  if (!ctx) return common::Fail("seccomp_init failed");
  // Only the native ABI: i386 and x32 system calls kill the process.
  if (auto r = Check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS),
                     "badarch");
      !r) {
    return r;
  }
  const SeccompPolicy& policy = Policy();
  for (const char* name : policy.allowed) {
    if (auto r = AddRule(ctx.get(), {name, 0, {}}); !r) return r;
  }
  for (const SeccompRule& rule : policy.rules) {
    if (auto r = AddRule(ctx.get(), rule); !r) return r;
  }
  return Check(seccomp_load(ctx.get()), "load");
}

std::string DockerSeccompProfile() {
  using nlohmann::json;
  const SeccompPolicy& policy = Policy();
  json syscalls = json::array();
  syscalls.push_back({{"names", policy.allowed}, {"action", "SCMP_ACT_ALLOW"}});
  for (const SeccompRule& rule : policy.rules) {
    json entry = {{"names", {rule.name}}};
    if (rule.errno_ret == 0) {
      entry["action"] = "SCMP_ACT_ALLOW";
    } else {
      entry["action"] = "SCMP_ACT_ERRNO";
      entry["errnoRet"] = rule.errno_ret;
    }
    if (!rule.args.empty()) {
      json args = json::array();
      for (const ArgCheck& a : rule.args) {
        args.push_back({{"index", a.index},
                        {"value", a.value},
                        {"valueTwo", a.value_two},
                        {"op", DockerOp(a.op)}});
      }
      entry["args"] = args;
    }
    syscalls.push_back(entry);
  }
  const json profile = {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"defaultErrnoRet", EPERM},
      {"architectures", {"SCMP_ARCH_X86_64"}},  // other ABIs: the engine's bad-arch action
      {"syscalls", syscalls},
  };
  return profile.dump();
}

}  // namespace sandbox

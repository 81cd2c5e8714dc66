#include "environments/command.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace environments {

common::Result<void> RunCommand(const std::vector<std::string>& argv,
                                const std::map<std::string, std::string>& env) {
  if (argv.empty()) return common::Fail("RunCommand: no program");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    if (!env.contains(key)) env_strings.push_back(entry);
  }
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> args, envp;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  if (const int err =
          ::posix_spawn(&pid, argv[0].c_str(), nullptr, nullptr, args.data(), envp.data());
      err != 0) {
    return common::ErrnoFail("posix_spawn(" + argv[0] + ")", err);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return common::ErrnoFail("waitpid");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status))
    return common::Fail(argv[0] + " failed (exit code " + std::to_string(WEXITSTATUS(status)) +
                        ")");
  return common::Fail(argv[0] + " was killed by signal " + std::to_string(WTERMSIG(status)));
}

}  // namespace environments

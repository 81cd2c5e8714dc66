// Running a shell command from a test and reading what it printed.
// Thread-safe (popen); blocks until the command exits.
#pragma once

#include <string>

namespace testing_support {

// Runs `command` through /bin/sh; returns its exit status (128 when it did not exit, -1 when
// it could not be started) and appends its stdout and stderr to `output`.
int Shell(const std::string& command, std::string& output);

}  // namespace testing_support

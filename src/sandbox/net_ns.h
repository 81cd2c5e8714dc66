// The sandbox's network: a new network namespace holds only a loopback interface, which
// this brings up so code can use localhost. There is no route out, and the host's ports and
// abstract unix sockets are in another namespace. Runs in the init process.
#pragma once

#include "common/result.h"

namespace sandbox {

common::Result<void> BringUpLoopback();

}  // namespace sandbox

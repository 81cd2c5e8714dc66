// The cells the hub runs in every new kernel before the kernel counts as ready (silently,
// without history; see HubOptions::warmup_cells). They pay IPython's one-time costs at start,
// not in a user's request or in an interrupt's grace period, and they make an interrupt cheap
// to handle and harmless to the kernel wherever in the kernel's own code it lands.
//
// Pure data; safe from any thread.
#pragma once

#include <string>
#include <vector>

namespace jupyter {

std::vector<std::string> KernelSetupCells();

}  // namespace jupyter

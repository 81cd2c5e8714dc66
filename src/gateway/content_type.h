// The Content-Type of a downloaded workspace file, from its name's extension (the kernel
// chose the name: it decides nothing else). Unknown extensions are application/octet-stream;
// nothing is ever served as text/html or another type a browser would run, since the file
// comes from the kernel (the download also says `Content-Disposition: attachment`).
#pragma once

#include <string_view>

namespace gateway {

std::string_view ContentTypeFor(std::string_view file_name);

}  // namespace gateway

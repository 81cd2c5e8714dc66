#include "fetch/multipart.h"

namespace fetch {

common::Result<MultipartFrame> BuildMultipartFrame(
    const std::vector<std::pair<std::string, std::string>>& fields, std::string_view file_name,
    const std::string& boundary) {
  if (boundary.empty() || boundary.size() > 70)
    return common::Fail("a multipart boundary has 1 to 70 characters");
  MultipartFrame frame;
  frame.content_type = "multipart/form-data; boundary=" + boundary;
  for (const auto& [name, value] : fields) {
    if (name.empty() || name.find_first_of(std::string_view("\"\r\n\0", 4)) != std::string::npos)
      return common::Fail("upload field name \"" + name +
                          "\" is empty or holds a quote or a line break");
    if (value.find(boundary) != std::string::npos)
      return common::Fail("upload field \"" + name + "\" contains the multipart boundary");
    frame.head += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name +
                  "\"\r\n\r\n" + value + "\r\n";
  }
  std::string safe_name(file_name);
  for (char& c : safe_name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '"' || c == '\\') c = '_';
  }
  frame.head += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
                safe_name + "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
  frame.tail = "\r\n--" + boundary + "--\r\n";
  return frame;
}

}  // namespace fetch

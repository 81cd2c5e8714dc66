// The upload form reader (src/gateway/multipart_reader.h) on a body from a client, boundary
// "fuzzB". Oracles: the verdict and every event are the same whether the body arrives whole or
// in chunks of the size byte 0 picks; no part's data holds the delimiter; a part's events come
// in order (begin, data, end) and a file name never holds a NUL byte.

#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.h"
#include "fuzz/targets.h"
#include "gateway/multipart_reader.h"

namespace fuzz {
namespace {

class Events : public gateway::MultipartHandler {
 public:
  common::Result<void> OnPartBegin(const gateway::PartHead& head) override {
    FUZZ_CHECK(!open_, "a part began inside another");
    open_ = true;
    log_ += "B" + head.name + "|" + head.filename.value_or("<none>") + "\n";
    data_.clear();
    return {};
  }
  common::Result<void> OnPartData(std::string_view bytes) override {
    FUZZ_CHECK(open_, "data outside a part");
    data_.append(bytes);
    return {};
  }
  common::Result<void> OnPartEnd() override {
    FUZZ_CHECK(open_, "an end without a part");
    FUZZ_CHECK(data_.find("\r\n--fuzzB") == std::string::npos, "data holds the delimiter");
    open_ = false;
    log_ += "D" + data_ + "\nE\n";
    return {};
  }
  std::string log_;

 private:
  bool open_ = false;
  std::string data_;
};

std::string Run(std::string_view body, std::size_t step) {
  Events events;
  gateway::MultipartReader reader("fuzzB", events);
  for (std::size_t at = 0; at < body.size(); at += step) {
    if (auto fed = reader.Feed(body.substr(at, step)); !fed)
      return events.log_ + "!" + fed.error().message;
  }
  if (auto done = reader.Finish(); !done) return events.log_ + "!" + done.error().message;
  return events.log_ + "ok";
}

}  // namespace

void FuzzMultipart(std::string_view input) {
  if (input.empty()) return;
  const std::size_t step = 1 + static_cast<unsigned char>(input[0]) % 64;
  const std::string_view body = input.substr(1);
  const std::string whole = Run(body, body.size() + 1);
  FUZZ_CHECK(Run(body, step) == whole, "the verdict depends on how the body is split");
  (void)gateway::FormBoundary(std::string(body.substr(0, 200)));
}

}  // namespace fuzz

#include "gateway/response_stream.h"

namespace gateway {

bool ResponseStream::Write(std::string bytes, bool force) {
  if (gone_ || ended_) return false;
  if (!force && pending_.size() + bytes.size() > max_pending_) return false;
  pending_ += bytes;
  Wake();
  return true;
}

void ResponseStream::End() {
  if (ended_) return;
  ended_ = true;
  Wake();
}

std::string ResponseStream::Take() {
  std::string out;
  out.swap(pending_);
  return out;
}

void ResponseStream::WhenReady(std::function<void()> wake) {
  wake_ = std::move(wake);
  if (!pending_.empty() || ended_ || gone_) Wake();
}

void ResponseStream::Gone() {
  if (gone_) return;
  gone_ = true;
  pending_.clear();
  wake_ = nullptr;  // the connection is closing; release what the callback holds
  if (!ended_ && on_gone_) {
    auto callback = std::move(on_gone_);
    on_gone_ = nullptr;
    callback();
  }
  on_gone_ = nullptr;
}

void ResponseStream::Wake() {
  if (!wake_) return;
  auto wake = std::move(wake_);
  wake_ = nullptr;
  wake();
}

}  // namespace gateway

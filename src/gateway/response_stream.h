// ResponseStream: the bytes of a streamed response (Server-Sent Events, NDJSON) on their way
// from whoever produces them (an execution's events) to the connection that writes them.
//
// The producer writes whole events and ends the stream; the connection takes what is queued
// whenever its previous write is done, and says when the client is gone (it hung up, or stopped
// reading past the write timeout). What is queued is bounded: a write that would take it over
// `max_pending_bytes` is refused (the producer notes the gap and says so later), unless forced
// (the final event, which the client must get).
// io thread only.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace gateway {

class ResponseStream {
 public:
  explicit ResponseStream(std::size_t max_pending_bytes) : max_pending_(max_pending_bytes) {}
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;

  // Producer side. Queues `bytes`; false (nothing queued) when the client is gone, the stream
  // has ended, or (unless `force`) it would hold more than its bound.
  bool Write(std::string bytes, bool force = false);
  // No more writes: the connection ends the response once it has sent what is queued.
  void End();
  bool ClientGone() const { return gone_; }
  // Called once, when the client goes away before the stream has ended.
  void OnClientGone(std::function<void()> callback) { on_gone_ = std::move(callback); }

  // Connection side. Everything queued (empty when nothing is).
  std::string Take();
  // End was called and everything queued has been taken.
  bool Finished() const { return ended_ && pending_.empty(); }
  // Called once, as soon as something is queued or the stream ends (at once if so already).
  void WhenReady(std::function<void()> wake);
  // The client is gone; later writes are refused and queued bytes dropped.
  void Gone();

 private:
  void Wake();

  std::size_t max_pending_;
  std::string pending_;
  bool ended_ = false;
  bool gone_ = false;
  std::function<void()> wake_;
  std::function<void()> on_gone_;
};

}  // namespace gateway

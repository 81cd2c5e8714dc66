// ExecutionRun: one execution's events as the gateway numbers, keeps and sends them.
//
// The pool's callbacks feed it: Start (the code went to a kernel: event "start" with the
// execution_id and worker_id), Add (each output event, jupyter/events.h), Finish (the answer:
// "files" when the execution changed the workspace, then "done" whose data is exactly the body
// of the non-streamed response). Events are numbered from 1 in order.
//
// Consumers subscribe with a ResponseStream: they get the kept events after the id they name
// (0: from the start), then each new one as it comes, and the stream ends after "done". Kept are
// at most `max_kept_bytes` of events, oldest dropped first ("done" is always kept); a consumer
// asking for events no longer kept, or too slow to take them as they come (its stream's bound),
// gets a "dropped" event {"from", "to"} (the ids it missed) in their place, without an id of
// its own, so that a reconnect with Last-Event-ID can still get them if they are kept.
// io thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gateway/event_format.h"
#include "gateway/response_stream.h"
#include "jupyter/events.h"

namespace gateway {

class ExecutionRun {
 public:
  enum class State { kQueued, kRunning, kDone };

  ExecutionRun(std::string id, std::string user, std::size_t max_kept_bytes);
  ExecutionRun(const ExecutionRun&) = delete;
  ExecutionRun& operator=(const ExecutionRun&) = delete;

  void Start(const std::string& worker_id);
  void Add(const jupyter::ExecutionEvent& event);
  // `files`: the execution's workspace changes as the response lists them (null: none).
  void Finish(int http_status, std::string body, const nlohmann::json& files);

  void Subscribe(std::shared_ptr<ResponseStream> stream, StreamFormat format,
                 std::uint64_t after_id);

  const std::string& id() const { return id_; }
  const std::string& user() const { return user_; }
  State state() const { return state_; }
  const std::string& worker_id() const { return worker_id_; }
  std::uint64_t last_event_id() const { return next_id_ - 1; }
  std::chrono::steady_clock::time_point created() const { return created_; }
  std::chrono::steady_clock::time_point finished() const { return finished_; }
  // Once done: what /execute would have answered.
  int http_status() const { return http_status_; }
  const std::string& body() const { return *body_; }
  // The events and the final body it holds.
  std::size_t KeptBytes() const { return kept_bytes_ + (body_ ? body_->size() : 0); }

 private:
  struct Event {
    std::uint64_t id = 0;
    std::string_view name{};
    std::shared_ptr<const std::string> data{};  // compact JSON
  };
  struct Subscriber {
    std::shared_ptr<ResponseStream> stream{};
    StreamFormat format = StreamFormat::kSse;
    std::uint64_t missed_from = 0;  // the first id it missed since it last got one, or 0
    std::uint64_t missed_to = 0;
  };

  void Publish(std::string_view name, std::shared_ptr<const std::string> data);
  void Keep(const Event& event);
  static std::string Notice(const Subscriber& subscriber);  // the "dropped" event it is owed
  bool SendNotice(Subscriber& subscriber);                  // false when the stream is gone
  // Sends `event` (after a notice of what it missed, if anything); false when the stream is gone.
  bool Send(Subscriber& subscriber, const Event& event);

  std::string id_;
  std::string user_;
  std::size_t max_kept_bytes_;
  State state_ = State::kQueued;
  std::string worker_id_;
  std::uint64_t next_id_ = 1;
  std::deque<Event> kept_;
  std::size_t kept_bytes_ = 0;
  std::uint64_t first_kept_id_ = 1;  // events before this one were dropped
  std::vector<Subscriber> subscribers_;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point finished_{};
  int http_status_ = 0;
  std::shared_ptr<const std::string> body_;
};

std::string_view StateName(ExecutionRun::State state);

}  // namespace gateway

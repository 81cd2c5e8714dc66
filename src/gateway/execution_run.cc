#include "gateway/execution_run.h"

#include <algorithm>

#include "gateway/api.h"

namespace gateway {
namespace {

using nlohmann::json;

std::shared_ptr<const std::string> Data(const json& value) {
  return std::make_shared<const std::string>(Dump(value));
}

}  // namespace

std::string_view StateName(ExecutionRun::State state) {
  switch (state) {
    case ExecutionRun::State::kQueued:
      return "queued";
    case ExecutionRun::State::kRunning:
      return "running";
    case ExecutionRun::State::kDone:
      return "done";
  }
  return "unknown";
}

ExecutionRun::ExecutionRun(std::string id, std::string user, std::size_t max_kept_bytes)
    : id_(std::move(id)), user_(std::move(user)), max_kept_bytes_(max_kept_bytes) {}

void ExecutionRun::Start(const std::string& worker_id) {
  if (state_ != State::kQueued) return;
  state_ = State::kRunning;
  worker_id_ = worker_id;
  Publish("start", Data({{"execution_id", id_}, {"worker_id", worker_id}}));
}

void ExecutionRun::Add(const jupyter::ExecutionEvent& event) {
  if (state_ == State::kDone) return;
  Publish(jupyter::EventName(event.kind), Data(jupyter::EventData(event)));
}

void ExecutionRun::Finish(int http_status, std::string body, const json& files) {
  if (state_ == State::kDone) return;
  if (!files.is_null()) Publish("files", Data({{"files", files}}));
  state_ = State::kDone;
  finished_ = std::chrono::steady_clock::now();
  http_status_ = http_status;
  body_ = std::make_shared<const std::string>(std::move(body));
  Publish("done", body_);
  for (Subscriber& subscriber : subscribers_) subscriber.stream->End();
  subscribers_.clear();
}

void ExecutionRun::Subscribe(std::shared_ptr<ResponseStream> stream, StreamFormat format,
                             std::uint64_t after_id) {
  Subscriber subscriber{.stream = std::move(stream), .format = format};
  if (after_id + 1 < first_kept_id_) {
    subscriber.missed_from = after_id + 1;
    subscriber.missed_to = first_kept_id_ - 1;
  }
  if (subscriber.missed_from != 0 && !SendNotice(subscriber)) return;
  for (const Event& event : kept_) {
    if (event.id > after_id && !Send(subscriber, event)) return;
  }
  if (state_ == State::kDone) return subscriber.stream->End();
  subscribers_.push_back(std::move(subscriber));
}

void ExecutionRun::Publish(std::string_view name, std::shared_ptr<const std::string> data) {
  const Event event{.id = next_id_++, .name = name, .data = std::move(data)};
  Keep(event);
  std::erase_if(subscribers_, [&](Subscriber& subscriber) { return !Send(subscriber, event); });
}

void ExecutionRun::Keep(const Event& event) {
  const bool done = event.name == "done";
  if (!done) {
    if (event.data->size() > max_kept_bytes_) {
      // Too large to keep at all: what came before goes too, so that what is kept is always
      // every event from first_kept_id_ on (a gap is only ever at the start).
      kept_.clear();
      kept_bytes_ = 0;
      first_kept_id_ = next_id_;
      return;
    }
    kept_bytes_ += event.data->size();
  }
  kept_.push_back(event);
  while (kept_bytes_ > max_kept_bytes_ && !kept_.empty() && kept_.front().name != "done") {
    kept_bytes_ -= kept_.front().data->size();
    kept_.pop_front();
  }
  first_kept_id_ = kept_.empty() ? next_id_ : kept_.front().id;
}

std::string ExecutionRun::Notice(const Subscriber& subscriber) {
  return FormatEvent(subscriber.format, 0, "dropped",
                     Dump(json{{"from", subscriber.missed_from}, {"to", subscriber.missed_to}}));
}

bool ExecutionRun::SendNotice(Subscriber& subscriber) {
  if (subscriber.stream->Write(Notice(subscriber)))
    subscriber.missed_from = subscriber.missed_to = 0;
  return !subscriber.stream->ClientGone();
}

bool ExecutionRun::Send(Subscriber& subscriber, const Event& event) {
  ResponseStream& stream = *subscriber.stream;
  if (stream.ClientGone()) return false;
  std::string bytes;
  if (subscriber.missed_from != 0) bytes = Notice(subscriber);
  bytes += FormatEvent(subscriber.format, event.id, event.name, *event.data);
  const bool done = event.name == "done";
  if (stream.Write(std::move(bytes), /*force=*/done)) {
    subscriber.missed_from = subscriber.missed_to = 0;
  } else {
    if (subscriber.missed_from == 0) subscriber.missed_from = event.id;
    subscriber.missed_to = event.id;
  }
  if (done) stream.End();
  return !stream.ClientGone();
}

}  // namespace gateway

#include "jupyter/hub_shards.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace jupyter {
namespace {

using std::chrono::milliseconds;

// Records which calls reached it; completes nothing.
class RecordingTransport final : public KernelTransport {
 public:
  explicit RecordingTransport(std::vector<std::string>* log, std::string name)
      : log_(log), name_(std::move(name)) {}

  void Connect(KernelId id, const ConnectionInfo& /*info*/) override { Note("connect", id); }
  void Disconnect(KernelId id) override { Note("disconnect", id); }
  void WaitReady(KernelId id, milliseconds /*timeout*/,
                 std::function<void(common::Result<void>)> /*done*/) override {
    Note("ready", id);
  }
  void Execute(KernelId id, std::string /*code*/, OutputLimits /*limits*/, EventSink /*on_event*/,
               std::function<void(ExecutionResult)> /*done*/) override {
    Note("execute", id);
  }
  void Interrupt(KernelId id) override { Note("interrupt", id); }
  void Shutdown(KernelId id) override { Note("shutdown", id); }
  void Ping(KernelId id, milliseconds /*timeout*/, std::function<void(bool)> /*done*/) override {
    Note("ping", id);
  }

 private:
  void Note(const std::string& call, KernelId id) {
    log_->push_back(name_ + " " + call + " " + std::to_string(id));
  }
  std::vector<std::string>* log_;
  std::string name_;
};

class HubShardsTest : public testing::Test {
 protected:
  HubShardsTest() {
    std::vector<std::unique_ptr<KernelTransport>> shards;
    shards.push_back(std::make_unique<RecordingTransport>(&log_, "a"));
    shards.push_back(std::make_unique<RecordingTransport>(&log_, "b"));
    hubs_ = std::make_unique<HubShards>(std::move(shards));
  }

  // Every call a kernel can get, in order.
  void CallEverything(KernelId id) {
    hubs_->WaitReady(id, milliseconds(1), [](common::Result<void>) {});
    hubs_->Execute(id, "1", OutputLimits{}, {}, [](ExecutionResult) {});
    hubs_->Interrupt(id);
    hubs_->Ping(id, milliseconds(1), [](bool) {});
    hubs_->Shutdown(id);
  }

  std::vector<std::string> log_;
  std::unique_ptr<HubShards> hubs_;
};

TEST_F(HubShardsTest, KernelsGoToTheShardWithTheFewest) {
  for (KernelId id = 1; id <= 4; ++id) hubs_->Connect(id, ConnectionInfo{});
  EXPECT_EQ(log_,
            (std::vector<std::string>{"a connect 1", "b connect 2", "a connect 3", "b connect 4"}));
  EXPECT_EQ(hubs_->Loads(), (std::vector<std::size_t>{2, 2}));
}

TEST_F(HubShardsTest, EveryCallForAKernelReachesItsShardOnly) {
  hubs_->Connect(1, ConnectionInfo{});
  hubs_->Connect(2, ConnectionInfo{});
  log_.clear();
  CallEverything(2);
  EXPECT_EQ(log_, (std::vector<std::string>{"b ready 2", "b execute 2", "b interrupt 2", "b ping 2",
                                            "b shutdown 2"}));
}

TEST_F(HubShardsTest, ADisconnectedKernelFreesItsPlace) {
  for (KernelId id = 1; id <= 4; ++id) hubs_->Connect(id, ConnectionInfo{});
  hubs_->Disconnect(1);
  hubs_->Disconnect(3);
  EXPECT_EQ(hubs_->Loads(), (std::vector<std::size_t>{0, 2}));
  hubs_->Connect(5, ConnectionInfo{});
  hubs_->Connect(6, ConnectionInfo{});
  EXPECT_EQ(hubs_->Loads(), (std::vector<std::size_t>{2, 2}));
  EXPECT_EQ(log_.back(), "a connect 6");
  EXPECT_EQ(log_[log_.size() - 3], "a disconnect 3");
}

// The pool may still call for a kernel after its Disconnect (or before its Connect): the
// first shard gets the call and answers it as an unknown kernel.
TEST_F(HubShardsTest, CallsForAnUnknownKernelGoToTheFirstShard) {
  hubs_->Connect(1, ConnectionInfo{});
  hubs_->Connect(2, ConnectionInfo{});
  hubs_->Disconnect(2);
  log_.clear();
  CallEverything(2);
  hubs_->Disconnect(2);
  EXPECT_EQ(log_, (std::vector<std::string>{"a ready 2", "a execute 2", "a interrupt 2", "a ping 2",
                                            "a shutdown 2", "a disconnect 2"}));
  EXPECT_EQ(hubs_->Loads(), (std::vector<std::size_t>{1, 0}));
}

TEST_F(HubShardsTest, ConnectingTwiceKeepsTheKernelWhereItIs) {
  hubs_->Connect(1, ConnectionInfo{});
  hubs_->Connect(1, ConnectionInfo{});
  EXPECT_EQ(log_, (std::vector<std::string>{"a connect 1", "a connect 1"}));
  EXPECT_EQ(hubs_->Loads(), (std::vector<std::size_t>{1, 0}));
}

}  // namespace
}  // namespace jupyter

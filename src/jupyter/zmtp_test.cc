#include "jupyter/zmtp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jupyter::zmtp {
namespace {

// What a libzmq ROUTER sends first: its greeting and its READY.
std::string PeerHandshake(std::string_view type = "ROUTER") { return Greeting() + Ready(type); }

struct Fed {
  common::Result<void> ok;
  Decoder::Output out;
};

Fed FeedAll(Decoder& decoder, std::string_view bytes, std::size_t chunk = 1 << 20) {
  Fed fed{{}, {}};
  for (std::size_t i = 0; i < bytes.size() && fed.ok; i += chunk) {
    fed.ok = decoder.Feed(bytes.substr(i, chunk), fed.out);
  }
  return fed;
}

TEST(ZmtpTest, GreetingIsVersion3WithTheNullMechanism) {
  const std::string g = Greeting();
  ASSERT_EQ(g.size(), kGreetingBytes);
  EXPECT_EQ(static_cast<unsigned char>(g[0]), 0xFF);
  EXPECT_EQ(g[9], 0x7F);
  EXPECT_EQ(g[10], 3);
  EXPECT_EQ(g.substr(12, 4), "NULL");
  EXPECT_EQ(g[32], 0);  // as-server: we are the client
}

TEST(ZmtpTest, DecodesMessagesAfterTheHandshakeInAnyChunking) {
  const std::vector<std::string> frames = {"id", "<IDS|MSG>", std::string(300, 'x'), ""};
  const std::string stream = PeerHandshake() + EncodeMessage(frames) + EncodeMessage({"two"});
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, stream.size()}) {
    Decoder decoder({}, {"ROUTER"});
    const Fed fed = FeedAll(decoder, stream, chunk);
    ASSERT_TRUE(fed.ok) << fed.ok.error().message;
    EXPECT_TRUE(decoder.HandshakeDone());
    ASSERT_EQ(fed.out.messages.size(), 2u) << "chunk " << chunk;
    EXPECT_EQ(fed.out.messages[0], frames);
    EXPECT_EQ(fed.out.messages[1], std::vector<std::string>{"two"});
  }
}

TEST(ZmtpTest, AMessageOverTheByteLimitIsSkippedAndCounted) {
  Decoder decoder({.max_message_bytes = 1000, .max_frames = 8}, {"ROUTER"});
  // 16 frames of 100 bytes: no single frame is large, the message is.
  const std::vector<std::string> big(16, std::string(100, 'a'));
  const std::string stream =
      PeerHandshake() + EncodeMessage(big) + EncodeMessage({std::string(900, 'b')});
  const Fed fed = FeedAll(decoder, stream, 64);
  ASSERT_TRUE(fed.ok) << fed.ok.error().message;
  EXPECT_EQ(fed.out.dropped, 1u);
  ASSERT_EQ(fed.out.messages.size(), 1u);  // the next message is intact
  EXPECT_EQ(fed.out.messages[0][0].size(), 900u);
}

TEST(ZmtpTest, AMessageWithTooManyFramesIsSkipped) {
  Decoder decoder({.max_message_bytes = 1 << 20, .max_frames = 4}, {"ROUTER"});
  const Fed fed = FeedAll(
      decoder, PeerHandshake() + EncodeMessage({"1", "2", "3", "4", "5"}) + EncodeMessage({"ok"}));
  ASSERT_TRUE(fed.ok);
  EXPECT_EQ(fed.out.dropped, 1u);
  ASSERT_EQ(fed.out.messages.size(), 1u);
}

TEST(ZmtpTest, AHugeDeclaredFrameIsSkippedWithoutBeingHeld) {
  Decoder decoder({.max_message_bytes = 1 << 20, .max_frames = 8}, {"ROUTER"});
  // Declares 1 GiB and sends 4 MiB of it: nothing is completed, and nothing is kept.
  std::string header = "\x02";
  const std::uint64_t size = 1ull << 30;
  for (int shift = 56; shift >= 0; shift -= 8) header.push_back(static_cast<char>(size >> shift));
  Fed fed = FeedAll(decoder, PeerHandshake() + header);
  ASSERT_TRUE(fed.ok);
  const std::string chunk(1 << 20, 'z');
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(decoder.Feed(chunk, fed.out));
  EXPECT_TRUE(fed.out.messages.empty());
  EXPECT_EQ(fed.out.dropped, 0u);  // counted once it ends
}

TEST(ZmtpTest, BrokenFramingIsAnError) {
  {
    Decoder decoder({}, {"ROUTER"});
    EXPECT_FALSE(decoder.Feed(std::string(64, 'G'), *std::make_unique<Decoder::Output>()));
  }
  {
    Decoder decoder({}, {"ROUTER"});
    Decoder::Output out;
    ASSERT_TRUE(decoder.Feed(PeerHandshake(), out));
    EXPECT_FALSE(decoder.Feed("\x80\x01x", out));  // reserved flag bit
  }
  {
    Decoder decoder({}, {"ROUTER"});
    Decoder::Output out;
    // A message before READY.
    EXPECT_FALSE(decoder.Feed(Greeting() + EncodeMessage({"early"}), out));
  }
  {
    Decoder decoder({}, {"ROUTER"});
    Decoder::Output out;
    EXPECT_FALSE(decoder.Feed(PeerHandshake("PUB"), out));  // not the socket type we expect
  }
  {
    Decoder decoder({}, {"ROUTER"});
    Decoder::Output out;
    std::string g = Greeting();
    g.replace(12, 4, "PLAI");  // another mechanism
    EXPECT_FALSE(decoder.Feed(g, out));
  }
}

TEST(ZmtpTest, ReadyCarriesTheSocketType) {
  // Our READY decodes as a READY with our type, for a peer that expects it.
  Decoder decoder({}, {"DEALER"});
  Decoder::Output out;
  ASSERT_TRUE(decoder.Feed(Greeting() + Ready("DEALER"), out));
  EXPECT_TRUE(decoder.HandshakeDone());
}

}  // namespace
}  // namespace jupyter::zmtp

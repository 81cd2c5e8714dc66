#include "sandbox/docker_userns.h"

#include <gtest/gtest.h>

#include <set>

#include "sandbox/uid_slots.h"

namespace sandbox::docker {
namespace {

// An engine 20.10's answer (trimmed) with and without --userns-remap=default.
constexpr const char* kRemappedInfo = R"({
  "SecurityOptions": ["name=seccomp,profile=default", "name=userns"],
  "DockerRootDir": "/var/lib/docker/100000.100000"})";
constexpr const char* kPlainInfo = R"({
  "SecurityOptions": ["name=seccomp,profile=default", "name=cgroupns"],
  "DockerRootDir": "/var/lib/docker"})";

TEST(RemapFromInfo, RemappedEngineGivesItsRangeStarts) {
  auto remap = RemapFromInfo(kRemappedInfo);
  ASSERT_TRUE(remap) << remap.error().message;
  ASSERT_TRUE(remap->has_value());
  EXPECT_EQ((*remap)->uid_start, 100000u);
  EXPECT_EQ((*remap)->gid_start, 100000u);
  auto other = RemapFromInfo(
      R"({"SecurityOptions": ["name=userns,foo=bar"], "DockerRootDir": "/d/231072.300000"})");
  ASSERT_TRUE(other && other->has_value());
  EXPECT_EQ((*other)->uid_start, 231072u);
  EXPECT_EQ((*other)->gid_start, 300000u);
}

TEST(RemapFromInfo, PlainEngineIsNoRemapping) {
  auto remap = RemapFromInfo(kPlainInfo);
  ASSERT_TRUE(remap) << remap.error().message;
  EXPECT_FALSE(remap->has_value());
  // A root dir that looks like a remapped one means nothing without the option.
  auto lookalike =
      RemapFromInfo(R"({"SecurityOptions": [], "DockerRootDir": "/var/lib/docker/1.1"})");
  ASSERT_TRUE(lookalike);
  EXPECT_FALSE(lookalike->has_value());
}

TEST(RemapFromInfo, MalformedAnswersAreErrors) {
  for (const char* body : {
           "",
           "[]",
           "{}",
           R"({"SecurityOptions": "name=userns"})",
           R"({"SecurityOptions": ["name=userns"]})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": 5})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": "/var/lib/docker"})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": "/x/100000"})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": "/x/100000."})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": "/x/-1.100000"})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": "/x/+1.100000"})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": "/x/0.0"})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": "/x/4294967296.1"})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": "/x/1.2.3"})",
           R"({"SecurityOptions": ["name=userns"], "DockerRootDir": "/x/100000.100000/"})",
       }) {
    EXPECT_FALSE(RemapFromInfo(body)) << body;
  }
  // "name=usernsX" is not the option.
  auto near = RemapFromInfo(R"({"SecurityOptions": ["name=usernsX"], "DockerRootDir": "/d"})");
  ASSERT_TRUE(near);
  EXPECT_FALSE(near->has_value());
}

TEST(SubordinateCount, FindsTheRangeByItsStart) {
  const std::string text =
      "alice:165536:65536\n"
      "garbage line\n"
      "bad:x:5\n"
      "dockremap:100000:65536\n"
      "dockremap:300000:1000\n";
  EXPECT_EQ(SubordinateCount(text, 100000), 65536u);
  EXPECT_EQ(SubordinateCount(text, 300000), 1000u);
  EXPECT_EQ(SubordinateCount(text, 165536), 65536u);
  EXPECT_EQ(SubordinateCount(text, 1), std::nullopt);
  EXPECT_EQ(SubordinateCount("", 100000), std::nullopt);
  EXPECT_EQ(SubordinateCount("u:100000:0\n", 100000), std::nullopt);
  EXPECT_EQ(SubordinateCount("u:100000:65536x\n", 100000), std::nullopt);
}

TEST(IdMapMaps, ReadsTheKernelsMapFormat) {
  const std::string remapped = "         0     100000      65536\n";
  EXPECT_TRUE(IdMapMaps(remapped, 10000, 110000));
  EXPECT_FALSE(IdMapMaps(remapped, 10000, 10000));
  EXPECT_FALSE(IdMapMaps(remapped, 65536, 165536)) << "beyond the range: unmapped";
  const std::string identity = "         0          0 4294967295\n";
  EXPECT_TRUE(IdMapMaps(identity, 100000, 100000));
  EXPECT_FALSE(IdMapMaps(identity, 100000, 200000));
  const std::string two = "0 100000 1000\n1000 500000 1000\n";
  EXPECT_TRUE(IdMapMaps(two, 1500, 500500));
  EXPECT_FALSE(IdMapMaps("", 0, 0));
}

TEST(HostIdsOf, AddsTheRangeStartsOnlyWhenRemapped) {
  EXPECT_EQ(HostIdsOf(std::nullopt, 123).uid, 123u);
  EXPECT_EQ(HostIdsOf(std::nullopt, 123).gid, 123u);
  const Remap remap{.uid_start = 100000, .gid_start = 200000, .size = 65536};
  EXPECT_EQ(HostIdsOf(remap, 123).uid, 100123u);
  EXPECT_EQ(HostIdsOf(remap, 123).gid, 200123u);
}

TEST(RemappedContainerUid, EveryInstanceFitsDockersDefaultRangeWithoutSharingInOne) {
  for (unsigned range = 0; range < UidSlots::kRanges; ++range) {
    const unsigned base = UidSlots::kBase + range * UidSlots::kPerInstance;
    std::set<unsigned> seen;
    for (unsigned slot = 0; slot < UidSlots::kSlots; ++slot) {
      const unsigned uid = RemappedContainerUid(base + slot);
      EXPECT_GE(uid, kRemappedFirstUid);
      EXPECT_LT(uid, 65536u);
      seen.insert(uid);
    }
    EXPECT_EQ(seen.size(), UidSlots::kSlots) << "range " << range;
    EXPECT_EQ(RemappedLastUid(base), RemappedContainerUid(base + UidSlots::kSlots - 1));
  }
  EXPECT_EQ(RemappedContainerUid(UidSlots::kBase), kRemappedFirstUid);
  EXPECT_EQ(RemappedLastUid(UidSlots::kBase + 99 * UidSlots::kPerInstance), 59999u);
}

TEST(CheckRemappedUidsFit, RefusesARangeTooSmallForTheInstancesUids) {
  const unsigned base = UidSlots::kBase + 7 * UidSlots::kPerInstance;  // uids 13500..13999
  EXPECT_TRUE(
      CheckRemappedUidsFit({.uid_start = 100000, .gid_start = 100000, .size = 65536}, base));
  EXPECT_TRUE(
      CheckRemappedUidsFit({.uid_start = 100000, .gid_start = 100000, .size = 14000}, base));
  const auto small =
      CheckRemappedUidsFit({.uid_start = 100000, .gid_start = 100000, .size = 13999}, base);
  ASSERT_FALSE(small);
  EXPECT_NE(small.error().message.find("13500..13999 do not fit"), std::string::npos)
      << small.error().message;
  EXPECT_NE(small.error().message.find("at least 14000 ids"), std::string::npos);
  EXPECT_FALSE(
      CheckRemappedUidsFit({.uid_start = 4294967000u, .gid_start = 1, .size = 65536}, base))
      << "start + size beyond 32 bits";
  EXPECT_FALSE(
      CheckRemappedUidsFit({.uid_start = 1, .gid_start = 4294967000u, .size = 65536}, base));
}

}  // namespace
}  // namespace sandbox::docker

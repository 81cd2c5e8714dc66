// The Docker engine's user-namespace remapping (`dockerd --userns-remap`), as the docker
// backend needs to know it. A remapping engine runs every container in a user namespace that
// maps the container's ids 0..size-1 onto one subordinate range of the host's ids
// (/etc/subuid, /etc/subgid), the same range for all its containers: a container's uid N is
// host uid start + N. The backend creates its containers with their container uid and gives
// everything it prepares on the host side (worker directory, workspace) to the host uid.
//
// Everything here parses what the engine or the host says, and trusts none of it: a malformed
// answer is an error naming what was wrong. Pure functions of their arguments: any thread.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace sandbox::docker {

struct Remap {
  unsigned uid_start = 0;  // host uid of the container's uid 0
  unsigned gid_start = 0;  // host gid of the container's gid 0
  unsigned size = 0;       // container ids below this map to start + id (both ranges)
};

// The host ids of a container's `uid` (and gid of the same number): start + uid when
// remapped, the same numbers otherwise.
struct HostIds {
  unsigned uid = 0;
  unsigned gid = 0;
};
HostIds HostIdsOf(const std::optional<Remap>& remap, unsigned uid);

// From a GET /info answer: whether the engine remaps (SecurityOptions holds "name=userns"),
// and from where: the start of both ranges, read from DockerRootDir, which a remapping engine
// names after its root's host ids ("/var/lib/docker/100000.100000"). `size` is left 0: the
// engine does not say it (SubordinateCount). nullopt: no remapping.
common::Result<std::optional<Remap>> RemapFromInfo(const std::string& info_body);

// The size of the range dockerd --userns-remap=default gives its "dockremap" user.
inline constexpr unsigned kDefaultRemapSize = 65536;

// The count of the range that starts at `start` in a /etc/subuid or /etc/subgid text
// ("name:start:count" lines), whoever it belongs to; nullopt when none does.
std::optional<unsigned> SubordinateCount(const std::string& text, unsigned start);

// Whether a /proc/<pid>/uid_map (or gid_map) text maps id `inside` to `outside`.
bool IdMapMaps(const std::string& map_text, unsigned inside, unsigned outside);

// The container uid the backend gives a kernel whose UidSlots uid is `slot_uid`, when the
// engine remaps: UidSlots' uids (100000 and up) are beyond Docker's default range of 65536,
// so each instance's kSlots uids are folded into one of kRemappedRanges ranges of kSlots
// from kRemappedFirstUid (10000..59999; the one chosen by the instance's UidSlots range). Kernels
// of one instance never share a uid; instances of one engine share one with a chance of 1 in
// kRemappedRanges (1 in UidSlots::kRanges without remapping).
inline constexpr unsigned kRemappedFirstUid = 10000;
inline constexpr unsigned kRemappedRanges = 100;
unsigned RemappedContainerUid(unsigned slot_uid);
// The highest container uid RemappedContainerUid gives an instance whose UidSlots base is
// `base`: the range must be larger than that.
unsigned RemappedLastUid(unsigned base);
// An error saying so unless the container uids of the instance whose UidSlots base is `base`
// fit in `remap`'s range (and start + size stays within 32 bits).
common::Result<void> CheckRemappedUidsFit(const Remap& remap, unsigned base);

}  // namespace sandbox::docker

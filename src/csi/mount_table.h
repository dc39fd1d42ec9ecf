// The mount table of this process's mount namespace, from /proc/self/mountinfo: how the node
// plugin finds its shared mounts and the bind mounts made from them, without keeping any state
// of its own (so a restarted driver picks up where the last one stopped).
//
// Thread-safety: pure functions (ReadMountTable reads a file).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace strata::csi {

struct MountEntry {
  int id = 0;
  std::string dev;          // "major:minor": equal for a mount and every bind made from it
  std::string root;         // the mounted directory inside that file system ("/" or "/a/b")
  std::string mount_point;  // unescaped (\040 is a space)
  std::string options;      // per-mount options ("rw,nosuid,...")
  std::string fstype;       // "fuse.strata" for ours
  std::string source;

  bool read_only() const;
};

// Parses mountinfo text; kCorruption naming the line for one that does not parse.
Result<std::vector<MountEntry>> ParseMountInfo(const std::string& text);
Result<std::vector<MountEntry>> ReadMountTable();

// The last (topmost) entry mounted at `path`, or nullptr.
const MountEntry* FindMount(const std::vector<MountEntry>& table, const std::string& path);

}  // namespace strata::csi

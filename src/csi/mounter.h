// Mounter: the node plugin's mounts. One `strata mount` process per volume on this node (a
// volume is its metadata URL plus the mount flags asked for), at {state_dir}/mounts/{key};
// every pod's target path is a bind mount of a directory of it. kubelet's subPath then
// narrows each container to its own directory below that.
//
//   Publish:   [start the shared mount if it is not there] -> [create the subdirectory when
//              missing, unless read-only] -> mkdir target -> bind mount -> [remount ro]
//   Unpublish: unmount the bind -> rmdir target -> unmount the shared mount when no bind of
//              it is left.
//
// No state is kept besides the mount table (/proc/self/mountinfo): a bind's device number
// names its shared mount, so a restarted driver sees what is mounted. Both calls are
// idempotent (a second Publish of the same target with the same source and mode, or an
// Unpublish of a target that is not mounted, succeeds and changes nothing). On any failure
// what this call mounted is unmounted again: nothing is left half done.
//
// The shared mount is started by running the strata binary as mount.strata (the fstab
// helper: mount flags map onto `strata mount` flags and FUSE options exactly as in an fstab
// line), with the secrets' store keys in its environment. A shared mount whose process died
// (ENOTCONN) is detached and started again on the next Publish.
//
// Thread-safety: all calls are serialised by one mutex (they are rare and each is a few
// system calls plus, at most, one mount start).
// Errors: kInvalidArgument (bad subdir or target), kAlreadyExists (target holds another
// mount), kNotFound (read-only subdir missing), kFailedPrecondition-class mount failures are
// returned as kUnavailable with the mount's own (scrubbed) message; system call errors as
// kIOError naming the call and path.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "csi/secrets.h"

namespace strata::csi {

struct PublishRequest {
  VolumeSecrets secrets;
  std::string subdir;  // volume path ("" = the root), already normalised
  std::string target;  // absolute target path
  bool read_only = false;
  std::vector<std::string> mount_flags;  // "a", "b=c" or "a,b=c" each
};

class Mounter {
 public:
  // strata_bin: the binary to run as mount.strata (REQUIRES: non-empty, absolute).
  Mounter(std::string state_dir, std::string strata_bin);

  // On a mount failure *mount_failed is set (the caller reports FAILED_PRECONDITION).
  Status Publish(const PublishRequest& req, bool* mount_failed);
  Status Unpublish(const std::string& target);

  // The shared mount's directory for these secrets and flags (exposed for tests and logs).
  std::string SharedPath(const VolumeSecrets& secrets, const std::vector<std::string>& flags) const;

 private:
  Status EnsureShared(const PublishRequest& req, const std::string& shared, bool* started,
                      bool* mount_failed);
  Status StartMount(const PublishRequest& req, const std::string& shared);
  // Unmounts `shared` when no other mount of its device is left.
  Status ReleaseSharedIfUnused(const std::string& dev);
  void ReapOrphans();

  const std::string state_dir_;
  const std::string mounts_dir_;
  const std::string strata_bin_;
  std::mutex mu_;
};

}  // namespace strata::csi

// VolumeDirs: the controller's view of one StrataFS volume: directories that back
// PersistentVolumes, and the capacity requested for each. Opened per request from the
// request's secrets (each PV may live on another volume), as a client without a session and
// without background jobs, like the `strata trash` tool.
//
// Paths are volume paths relative to the root ("pvc-1", "tenants/pvc-2"); "", "..", and the
// trash are refused for directories we create or remove.
//
// Capacity: the requested capacity is the byte limit of a directory quota on the directory
// (meta/quota.h; enforced on every mount: EDQUOT), reported back by CreateVolume and raised by
// ControllerExpandVolume. 0 means no quota.
//
// Thread-safety: one object per request; not shared between threads.
// Errors: kNotFound (no such directory), kNotDir, kAlreadyExists (a file where a directory
// should be), kInvalidArgument (bad path), the volume's own (kUnavailable ...). Open:
// kNotFound "volume is not formatted" and the engine's errors.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "client/builtins.h"
#include "common/status.h"
#include "csi/secrets.h"
#include "meta/meta.h"

namespace strata::csi {

// kNotFound "volume is not formatted" for an sqlite3:// URL whose file is missing or empty:
// opening it (or mounting it) would create a database there.
Status CheckDatabaseFile(const VolumeSecrets& secrets);

// "a//b/./c/" -> "a/b/c". kInvalidArgument for "..", NUL, or a first part ".trash".
Result<std::string> NormalizeVolumePath(const std::string& path);

class VolumeDirs {
 public:
  static Result<std::unique_ptr<VolumeDirs>> Open(const client::Registries& registries,
                                                  const VolumeSecrets& secrets);

  // Creates `path` (and missing parents, 0755) as a directory with mode 0777, so that the
  // pods' users may create their subPath directories in it, with a quota of `capacity` bytes
  // (0: none). An existing directory is fine (CreateVolume is idempotent) when its quota is
  // the same; kAlreadyExists otherwise.
  Status Create(const std::string& path, uint64_t capacity);
  // The quota's byte limit (0 when none), kNotFound when the directory does not exist.
  Result<uint64_t> Capacity(const std::string& path);
  // Sets the quota's byte limit (creating the quota; its inode limit is kept).
  Status SetCapacity(const std::string& path, uint64_t capacity);
  // Removes the directory's whole tree: files go to the volume's trash when it has one
  // (restorable with `strata trash restore --to`). A missing directory is not an error.
  Status Remove(const std::string& path);

 private:
  explicit VolumeDirs(std::unique_ptr<meta::Meta> meta) : meta_(std::move(meta)) {}
  Status RemoveTree(meta::Ino dir);

  std::unique_ptr<meta::Meta> meta_;
};

}  // namespace strata::csi

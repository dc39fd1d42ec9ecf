// Plain value types of the metadata layer, shared by meta, chunk, vfs, fuse and gateway.
// No library types cross this boundary (no struct stat, no fuse types).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strata::meta {

using Ino = uint64_t;
constexpr Ino kRootIno = 1;
// Inodes from here up are never handed out: the VFS's virtual files (vfs/virtual_files.h)
// and the trash live there (docs/format/meta-schema.md).
constexpr Ino kFirstReservedIno = 0x7FFFFFFF00000000ULL;
constexpr Ino kTrashIno = 0x7FFFFFFF10000000ULL;  // hidden /.trash directory (see docs/format)
constexpr uint64_t kChunkBits = 26;
constexpr uint64_t kChunkSize = 1ULL << kChunkBits;  // 64 MiB logical chunk (DESIGN.md §4)
constexpr uint32_t kMaxNameLen = 255;
constexpr uint32_t kMaxSymlinkLen = 4096;
constexpr uint32_t kMaxXattrNameLen = 255;
constexpr uint32_t kMaxXattrValueLen = 65536;

enum class FileType : uint8_t {
  kRegular = 1,
  kDirectory = 2,
  kSymlink = 3,
  kFifo = 4,
  kBlockDev = 5,
  kCharDev = 6,
  kSocket = 7,
};

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  bool operator==(const Timespec&) const = default;
};

// An inode's attributes (the `A{ino}I` record).
struct Attr {
  FileType type = FileType::kRegular;
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (07777); no type bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  Timespec atime, mtime, ctime;
  uint32_t nlink = 1;
  uint64_t length = 0;  // file size; for directories a nominal 4096; for symlinks target length
  uint32_t rdev = 0;
  Ino parent = 0;       // 0 when the inode has several hard links (parents kept separately)
  uint32_t flags = 0;   // reserved (immutable/append-only later)
};

// Who is asking: the caller's credentials, used for permission checks.
struct Context {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
  std::vector<uint32_t> groups;  // supplementary groups (gid need not be repeated)
  bool InGroup(uint32_t g) const;
};

struct Entry {
  Ino ino = 0;
  Attr attr;
};

struct DirEntry {
  std::string name;
  Ino ino = 0;
  FileType type = FileType::kRegular;
  std::optional<Attr> attr;  // filled by readdir "plus"
};

// One page of a directory listing. `next_cursor` resumes after the last entry returned; a
// cursor stays valid while the directory changes (entries are ordered by name bytes; an entry
// added or removed behind the cursor is not seen twice and others are not skipped).
struct ReaddirPage {
  std::vector<DirEntry> entries;
  std::string next_cursor;
  bool eof = false;
};

// setattr: which fields to change.
enum SetAttrMask : uint32_t {
  kSetMode = 1 << 0,
  kSetUid = 1 << 1,
  kSetGid = 1 << 2,
  kSetSize = 1 << 3,
  kSetAtime = 1 << 4,
  kSetMtime = 1 << 5,
  kSetAtimeNow = 1 << 6,  // UTIME_NOW
  kSetMtimeNow = 1 << 7,
  kSetCtime = 1 << 8,
};

struct SetAttrRequest {
  uint32_t mask = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  Timespec atime, mtime, ctime;
};

// A slice record (DESIGN.md §4): `pos u32 | id u64 | size u32 | off u32 | len u32`, 24 bytes
// big-endian. The bytes [off, off+len) of the stored slice `id` (of `size` bytes) are visible
// at chunk position pos. id 0 is a hole (zeros).
struct Slice {
  uint32_t pos = 0;
  uint64_t id = 0;
  uint32_t size = 0;
  uint32_t off = 0;
  uint32_t len = 0;
  bool operator==(const Slice&) const = default;
};

// A stored slice whose blocks may be deleted (its reference count reached zero).
struct SliceRef {
  uint64_t id = 0;
  uint32_t size = 0;
};

enum class LockType : uint8_t { kUnlock = 0, kRead = 1, kWrite = 2 };

// A POSIX record lock range; end is inclusive, UINT64_MAX means "to end of file".
struct LockRange {
  LockType type = LockType::kUnlock;
  uint64_t start = 0;
  uint64_t end = UINT64_MAX;
  uint32_t pid = 0;  // reported by F_GETLK
};

struct StatFs {
  uint64_t total_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t total_inodes = 0;
  uint64_t used_inodes = 0;
};

struct DirUsage {
  int64_t bytes = 0;   // sum of file lengths directly in this directory
  int64_t inodes = 0;  // entries directly in this directory
};

// A session's writeback staging (DESIGN.md §6), published in its record at each heartbeat so
// that `strata status` shows it and fsck/gc know which blocks are pending upload.
struct SessionStaging {
  bool enabled = false;       // the session runs with --writeback
  uint64_t bytes = 0;         // staged, not yet uploaded
  uint64_t blocks = 0;
  uint64_t oldest_slice = 0;  // lowest slice id with a staged block (0 when none)
  std::string dir;            // the staging directory on the session's host
};

struct SessionInfo {
  uint64_t id = 0;
  std::string host;
  std::string mount_point;
  uint32_t pid = 0;
  std::string version;
  int64_t expire_unix = 0;  // heartbeat expiry, seconds since the epoch
  SessionStaging staging;   // as of the last heartbeat
  // Cache group membership (DESIGN.md §7): the group this mount serves in, the HOST:PORT
  // its peers dial, and its cache size (the ring weight). Empty/0 when not serving.
  std::string cache_group;
  std::string peer_address;
  uint64_t cache_weight = 0;
};

// Flags of rename(2)/renameat2.
enum RenameFlags : uint32_t {
  kRenameNoReplace = 1,  // RENAME_NOREPLACE
  kRenameExchange = 2,   // RENAME_EXCHANGE
};

// fallocate(2) modes, as Linux defines them.
enum FallocateMode : uint32_t {
  kFallocKeepSize = 0x01,
  kFallocPunchHole = 0x02,
  kFallocZeroRange = 0x10,
};

}  // namespace strata::meta

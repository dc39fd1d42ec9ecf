// The metadata key schema, version 1 (docs/format/meta-schema.md is the written contract).
// Keys are binary: a one-letter kind, then big-endian integers, so that related records sort
// together and a directory's entries or a file's chunks are one range scan.
//
//   setting                          VolumeFormat JSON
//   C{name}                          counter, u64 BE (nextInode, nextSlice, capacityBytes, ...)
//   C{usedSpace|usedInodes}/{k}      volume usage shard k (0..15), i64 BE; the totals add up
//                                    every shard and the unsharded C{usedSpace|usedInodes}
//   A{ino:8}I                        attribute record (EncodeAttr)
//   A{ino:8}D{name}                  directory entry -> type u8 | ino u64
//   A{ino:8}C{chunk:4}               slice list: 24-byte records appended in commit order
//   A{ino:8}X{name}                  xattr value
//   A{ino:8}S                        symlink target
//   A{ino:8}P{parent:8}              hard-link parent -> count u32 (only when attr.parent == 0)
//   K{slice:8}{size:4}               slice reference count, i64 BE (absent = 1 reference)
//   G{slice:8}{size:4}               slice with no references left: blocks to delete
//   D{ino:8}{length:8}               deleted file whose data is still to be released -> time
//   SE{sid:8}                        session record (JSON), expiry inside
//   SS{sid:8}{ino:8}                 sustained inode (unlinked while open in session sid)
//   F{ino:8}                         flock records: list of (sid u64, owner u64, type u8)
//   P{ino:8}                         POSIX lock records: list of (sid, owner, type, start, end, pid)
//   U{ino:8}                         directory usage: bytes i64 | inodes i64
//   Q{ino:8}                         directory quota: max bytes u64 | max inodes u64
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "meta/types.h"

namespace strata::meta::schema {

constexpr int kSchemaVersion = 1;

std::string SettingKey();
std::string CounterKey(std::string_view name);
std::string AttrKey(Ino ino);
std::string EntryKey(Ino parent, std::string_view name);
std::string EntryPrefix(Ino parent);  // all entries of a directory: scan [prefix, PrefixEnd)
std::string ChunkKey(Ino ino, uint32_t chunk);
std::string ChunkPrefix(Ino ino);
std::string XattrKey(Ino ino, std::string_view name);
std::string XattrPrefix(Ino ino);
std::string SymlinkKey(Ino ino);
std::string ParentKey(Ino ino, Ino parent);
std::string ParentPrefix(Ino ino);
std::string InodePrefix(Ino ino);  // every A{ino}... record
std::string SliceRefKey(uint64_t slice_id, uint32_t size);
std::string GarbageSliceKey(uint64_t slice_id, uint32_t size);
std::string GarbagePrefix();
std::string DeletedFileKey(Ino ino, uint64_t length);
std::string DeletedFilePrefix();
std::string SessionKey(uint64_t sid);
std::string SessionPrefix();
std::string SustainedKey(uint64_t sid, Ino ino);
std::string SustainedPrefix(uint64_t sid);
std::string FlockKey(Ino ino);
std::string PosixLockKey(Ino ino);
std::string UsageKey(Ino ino);
std::string QuotaKey(Ino ino);

// The smallest key greater than every key starting with prefix ("" if none exists).
std::string PrefixEnd(std::string_view prefix);

// Splits keys back (return false when the key is not of that kind).
bool ParseAttrKey(std::string_view key, Ino* ino);
bool ParseEntryKey(std::string_view key, Ino* parent, std::string* name);
bool ParseChunkKey(std::string_view key, Ino* ino, uint32_t* chunk);
bool ParseSliceKey(std::string_view key, uint64_t* slice_id, uint32_t* size);  // K or G keys
bool ParseDeletedFileKey(std::string_view key, Ino* ino, uint64_t* length);
bool ParseSustainedKey(std::string_view key, uint64_t* sid, Ino* ino);

// Attribute record: version u8 (1) | type u8 | mode u32 | uid u32 | gid u32 | atime s64 ns32 |
// mtime | ctime | nlink u32 | length u64 | rdev u32 | parent u64 | flags u32.
std::string EncodeAttr(const Attr& attr);
Result<Attr> DecodeAttr(std::string_view data);

// Directory entry value: type u8 | ino u64.
std::string EncodeEntry(FileType type, Ino ino);
Status DecodeEntry(std::string_view data, FileType* type, Ino* ino);

// Slice lists: concatenated 24-byte records.
void AppendSlice(std::string* list, const Slice& s);
Result<std::vector<Slice>> DecodeSlices(std::string_view data);

// Signed 64-bit counters (usage, references) as 8 bytes BE two's complement.
std::string EncodeI64(int64_t v);
int64_t DecodeI64(std::string_view data);  // 0 when empty or malformed

}  // namespace strata::meta::schema

// The on-disk format of writeback staging (docs/format/staging.md, version 1): the directory
// layout and the encoding of one staged block file. Pure functions; no I/O.
//
//   DIR/VERSION            "strata-staging 1\nvolume UUID\n" (text; written once, fsync'ed)
//   DIR/LOCK               flock'ed by the one process that owns the directory
//   DIR/blocks/NAME        one staged block, NAME = the last segment of its object key
//                          ("{slice}_{index}_{len}"); written in place (created with
//                          O_EXCL, fsync'ed while the directory is fsync'ed in parallel);
//                          NAME.tmp.… files are what older versions wrote before a rename
//
// A block file is
//   magic u32 "STG1" | ino u64 | chunk u32 | key_len u16 | key | data_len u32 | data |
//   crc32c u32 of every byte before it
// big-endian. ino/chunk say which file's chunk the block was written for, so that a restart
// can ask the metadata whether its slice was ever committed (chunk/staging_recovery.h).
//
// Thread-safety: pure functions. Errors: DecodeStagedBlock -> kCorruption naming what is bad.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cache/block_tier.h"
#include "common/status.h"

namespace strata::cache {

constexpr int kStagingFormatVersion = 1;

struct StagedBlock {
  std::string key;
  BlockOrigin origin;
  std::string data;
};

std::string EncodeStagedBlock(std::string_view key, const BlockOrigin& origin,
                              std::string_view data);
Result<StagedBlock> DecodeStagedBlock(std::string_view file);
// The same without copying the data: after the checksum and the header are checked, *file
// becomes the block's data (header and trailer cut off in place) and *block gets the key and
// origin (its data left empty). On error *file is unchanged.
Status DecodeStagedBlockInPlace(std::string* file, StagedBlock* block);
// The same on a buffer: *file is narrowed to the data, so not even the data moves (the string
// version shifts it over the header).
Status DecodeStagedBlockInPlace(BlockBuffer* file, StagedBlock* block);
// The key and origin from the first bytes of a block file of `file_size` bytes (data left
// empty; the checksum is checked when the whole file is read). kCorruption when the header
// is bad or its lengths do not add up to file_size.
Result<StagedBlock> DecodeStagedHeader(std::string_view head, uint64_t file_size);
// What a block file found at start-up is. Files are written in place, so a process or machine
// that died before the file's fsync returned leaves an unfinished file, never acknowledged:
//   kComplete    header and length agree (the checksum is checked when the file is read);
//   kUnfinished  the header is whole but the file is shorter than it says: the key and origin
//                are known, so the owner can ask the metadata (it cannot have been committed,
//                since commits follow the fsync; if it was, the disk lost acknowledged bytes);
//   kNoHeader    empty, or too short to hold a header and a prefix of one: removed;
//   kDamaged     anything else (bad magic, longer than its header says): kept aside.
enum class StagedFileKind : uint8_t { kComplete, kUnfinished, kNoHeader, kDamaged };
// Classifies a block file of `file_size` bytes from its first bytes `head` (at least
// StagedHeaderSize(1024) of them when the file is that long). For kComplete and kUnfinished,
// *block gets the key and origin; for kDamaged, *why says what is wrong.
StagedFileKind ClassifyStagedFile(std::string_view head, uint64_t file_size, StagedBlock* block,
                                  std::string* why);
// The header (everything before the data) and the trailer of a block file, for writing it in
// pieces without joining them: header | data | trailer == EncodeStagedBlock(...).
std::string StagedHeader(std::string_view key, const BlockOrigin& origin, size_t data_len);
std::string StagedTrailer(std::string_view header, std::string_view data);
// Bytes of a block file's header for a key of key_len bytes.
constexpr size_t StagedHeaderSize(size_t key_len) { return 4 + 8 + 4 + 2 + key_len + 4; }

// The file name of key's block: its last '/'-separated segment, when that is made only of
// digits and '_' (a block key, chunk/block_key.h); "" otherwise (the key cannot be staged).
std::string StagedName(std::string_view key);
// The VERSION file's content for a volume.
std::string StagingVersionText(std::string_view volume_uuid);

}  // namespace strata::cache

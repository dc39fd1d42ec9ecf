// The on-disk format of writeback staging (docs/format/staging.md, version 2): the directory
// layout, the encoding of one staged block (a file of its own, or a record of a log segment)
// and of a log segment. Pure functions; no I/O.
//
//   DIR/VERSION            "strata-staging 2\nvolume UUID\n" (text; written once, fsync'ed;
//                          a version-1 directory is taken over and its VERSION rewritten)
//   DIR/LOCK               flock'ed by the one process that owns the directory
//   DIR/blocks/NAME        one staged block, NAME = the last segment of its object key
//                          ("{slice}_{index}_{len}"); written in place (created with
//                          O_EXCL, fsync'ed while the directory is fsync'ed in parallel);
//                          NAME.tmp.… files are what older versions wrote before a rename
//   DIR/log/SEQ.log        a log segment (version 2): a 16-byte header, then block records
//                          (each exactly a block file's bytes) appended by group commits
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
#include <vector>

#include "cache/block_tier.h"
#include "common/status.h"

namespace strata::cache {

constexpr int kStagingFormatVersion = 2;
// Directories of this version are opened too (they have no log; VERSION is rewritten).
constexpr int kStagingOldestVersion = 1;

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
// A log segment: magic u32 "STL2" | format version u32 (2) | segment number u64, then records
// back to back, each laid out as a block file (EncodeStagedBlock). Appends that never finished
// leave a tail that does not parse; nothing after it is read.
constexpr size_t kLogSegmentHeaderSize = 16;
std::string LogSegmentHeader(uint64_t seq);
// The file name of segment `seq` under DIR/log: 20 decimal digits and ".log"; 0 when `name`
// is not one.
std::string LogSegmentName(uint64_t seq);
uint64_t LogSegmentSeq(std::string_view name);
// One record found in a segment: where it is (offset and length in the file) and what.
struct LogRecord {
  std::string key;
  BlockOrigin origin;
  uint64_t offset = 0;
  uint32_t length = 0;    // the whole record
  uint32_t data_len = 0;  // the block
};
// Walks a whole segment file: every record up to the first one that is cut short or fails its
// checksum (an append that never finished: *tail says why, "" when the file ends cleanly).
// kCorruption when the segment header itself is bad (another file, another version).
Result<std::vector<LogRecord>> ParseLogSegment(std::string_view file, std::string* tail);

// The VERSION file's content for a volume.
std::string StagingVersionText(std::string_view volume_uuid);

}  // namespace strata::cache

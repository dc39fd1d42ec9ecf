#include "cache/staging_format.h"

#include <algorithm>

#include "common/bytes.h"
#include "common/crc32c.h"

namespace strata::cache {
namespace {
constexpr uint32_t kMagic = 0x53544731;     // "STG1"
constexpr uint32_t kLogMagic = 0x53544C32;  // "STL2"
constexpr size_t kFixed = 4 + 8 + 4 + 2 + 4 + 4;  // everything but the key and the data
}  // namespace

std::string StagedHeader(std::string_view key, const BlockOrigin& origin, size_t data_len) {
  std::string out;
  out.reserve(StagedHeaderSize(key.size()));
  PutU32BE(&out, kMagic);
  PutU64BE(&out, origin.ino);
  PutU32BE(&out, origin.chunk);
  PutU16BE(&out, static_cast<uint16_t>(key.size()));
  out.append(key);
  PutU32BE(&out, static_cast<uint32_t>(data_len));
  return out;
}

std::string StagedTrailer(std::string_view header, std::string_view data) {
  std::string out;
  PutU32BE(&out, Crc32cExtend(Crc32cExtend(0, header), data));
  return out;
}

std::string EncodeStagedBlock(std::string_view key, const BlockOrigin& origin,
                              std::string_view data) {
  std::string out = StagedHeader(key, origin, data.size());
  const std::string trailer = StagedTrailer(out, data);
  out.append(data);
  out.append(trailer);
  return out;
}

Result<StagedBlock> DecodeStagedHeader(std::string_view f, uint64_t file_size) {
  if (f.size() < 18 || file_size < kFixed) return Status::Corruption("staged block file too short");
  if (GetU32BE(f.data()) != kMagic) return Status::Corruption("not a staged block file");
  StagedBlock b;
  b.origin.ino = GetU64BE(f.data() + 4);
  b.origin.chunk = GetU32BE(f.data() + 12);
  const size_t key_len = GetU16BE(f.data() + 16);
  if (f.size() < 22 + key_len) return Status::Corruption("staged block key cut short");
  b.key.assign(f.data() + 18, key_len);
  const uint64_t data_len = GetU32BE(f.data() + 18 + key_len);
  if (file_size != kFixed + key_len + data_len) {
    return Status::Corruption("staged block length does not match its file");
  }
  return b;
}

StagedFileKind ClassifyStagedFile(std::string_view head, uint64_t file_size, StagedBlock* block,
                                  std::string* why) {
  if (file_size == 0) return StagedFileKind::kNoHeader;
  std::string magic;
  PutU32BE(&magic, kMagic);
  const size_t have = std::min<size_t>(head.size(), 4);
  if (head.substr(0, have) != std::string_view(magic).substr(0, have)) {
    *why = "not a staged block file";
    return StagedFileKind::kDamaged;
  }
  // The fixed part and the key must be there to know what the file was for. A file cut
  // short before them is an unfinished write; one that goes on past `head` has a key length
  // no block key has.
  if (head.size() < 18) return StagedFileKind::kNoHeader;
  const size_t key_len = GetU16BE(head.data() + 16);
  if (head.size() < 22 + key_len) {
    if (file_size <= head.size()) return StagedFileKind::kNoHeader;
    *why = "staged block key length out of range";
    return StagedFileKind::kDamaged;
  }
  block->origin.ino = GetU64BE(head.data() + 4);
  block->origin.chunk = GetU32BE(head.data() + 12);
  block->key.assign(head.data() + 18, key_len);
  const uint64_t want = kFixed + key_len + uint64_t{GetU32BE(head.data() + 18 + key_len)};
  if (file_size == want) return StagedFileKind::kComplete;
  if (file_size < want) return StagedFileKind::kUnfinished;
  *why = "staged block file is longer than its header says";
  return StagedFileKind::kDamaged;
}

namespace {

// Checks a whole block file; *start is where its data begins (it ends 4 bytes before the end).
Result<StagedBlock> CheckStagedBlock(std::string_view f, size_t* start) {
  if (f.size() < kFixed) return Status::Corruption("staged block file too short");
  if (GetU32BE(f.data() + f.size() - 4) != Crc32c(f.substr(0, f.size() - 4))) {
    return Status::Corruption("staged block file fails its checksum");
  }
  ASSIGN_OR_RETURN(StagedBlock b, DecodeStagedHeader(f, f.size()));
  *start = 22 + b.key.size();
  return b;
}

}  // namespace

Result<StagedBlock> DecodeStagedBlock(std::string_view f) {
  size_t start = 0;
  ASSIGN_OR_RETURN(StagedBlock b, CheckStagedBlock(f, &start));
  b.data.assign(f.data() + start, f.size() - start - 4);
  return b;
}

Status DecodeStagedBlockInPlace(std::string* file, StagedBlock* block) {
  size_t start = 0;
  ASSIGN_OR_RETURN(*block, CheckStagedBlock(*file, &start));
  file->resize(file->size() - 4);
  file->erase(0, start);
  return Status::OK();
}

Status DecodeStagedBlockInPlace(BlockBuffer* file, StagedBlock* block) {
  size_t start = 0;
  ASSIGN_OR_RETURN(*block, CheckStagedBlock(file->view(), &start));
  file->Narrow(start, file->size() - start - 4);
  return Status::OK();
}

std::string StagedName(std::string_view key) {
  const size_t slash = key.rfind('/');
  std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  if (name.empty() || name.size() > 64) return "";
  for (char c : name) {
    if (!(c == '_' || (c >= '0' && c <= '9'))) return "";
  }
  return std::string(name);
}

std::string LogSegmentHeader(uint64_t seq) {
  std::string out;
  PutU32BE(&out, kLogMagic);
  PutU32BE(&out, 2);
  PutU64BE(&out, seq);
  return out;
}

std::string LogSegmentName(uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(20 - std::min<size_t>(20, digits.size()), '0') + digits + ".log";
}

uint64_t LogSegmentSeq(std::string_view name) {
  if (name.size() != 24 || name.substr(20) != ".log") return 0;
  uint64_t seq = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9') return 0;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

Result<std::vector<LogRecord>> ParseLogSegment(std::string_view f, std::string* tail) {
  tail->clear();
  if (f.size() < kLogSegmentHeaderSize || GetU32BE(f.data()) != kLogMagic) {
    return Status::Corruption("not a staging log segment");
  }
  if (GetU32BE(f.data() + 4) != 2) return Status::Corruption("staging log segment of another version");
  std::vector<LogRecord> out;
  size_t pos = kLogSegmentHeaderSize;
  while (pos < f.size()) {
    const std::string_view rest = f.substr(pos);
    if (rest.size() < 22 || GetU32BE(rest.data()) != kMagic) {
      *tail = rest.size() < 22 ? "a record header cut short" : "bytes that are not a record";
      break;
    }
    const size_t key_len = GetU16BE(rest.data() + 16);
    if (rest.size() < 22 + key_len) {
      *tail = "a record key cut short";
      break;
    }
    const uint64_t len = kFixed + key_len + uint64_t{GetU32BE(rest.data() + 18 + key_len)};
    if (len > rest.size()) {
      *tail = "a record cut short";
      break;
    }
    if (GetU32BE(rest.data() + len - 4) != Crc32c(rest.substr(0, len - 4))) {
      *tail = "a record failing its checksum";
      break;
    }
    LogRecord r;
    r.origin.ino = GetU64BE(rest.data() + 4);
    r.origin.chunk = GetU32BE(rest.data() + 12);
    r.key.assign(rest.data() + 18, key_len);
    r.offset = pos;
    r.length = static_cast<uint32_t>(len);
    r.data_len = static_cast<uint32_t>(len - kFixed - key_len);
    out.push_back(std::move(r));
    pos += len;
  }
  return out;
}

std::string StagingVersionText(std::string_view volume_uuid) {
  return "strata-staging " + std::to_string(kStagingFormatVersion) + "\nvolume " +
         std::string(volume_uuid) + "\n";
}

}  // namespace strata::cache

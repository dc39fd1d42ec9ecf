// Slice operations (meta.h "File data"): slice ids, reading a chunk's list, appending a slice
// (the write commit), and compaction's compare-prefix-and-replace; plus the chunk-list and
// length helpers of file_util.h.
#include <algorithm>

#include "common/bytes.h"
#include "meta/file_util.h"
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {
namespace internal {

Result<std::vector<Slice>> ReadChunkList(kv::Transaction& txn, Ino ino, uint32_t chunk) {
  ASSIGN_OR_RETURN(auto raw, txn.Get(schema::ChunkKey(ino, chunk)));
  if (!raw) return std::vector<Slice>();
  return schema::DecodeSlices(*raw);
}

void WriteChunkList(kv::Transaction& txn, Ino ino, uint32_t chunk,
                    const std::vector<Slice>& slices) {
  if (slices.empty()) {
    txn.Delete(schema::ChunkKey(ino, chunk));
    return;
  }
  std::string v;
  v.reserve(slices.size() * 24);
  for (const Slice& s : slices) schema::AppendSlice(&v, s);
  txn.Put(schema::ChunkKey(ino, chunk), v);
}

Status AppendToChunk(kv::Transaction& txn, Ino ino, uint32_t chunk, const Slice& slice) {
  const std::string key = schema::ChunkKey(ino, chunk);
  ASSIGN_OR_RETURN(auto raw, txn.Get(key));
  std::string v = raw.value_or("");
  if (v.size() % 24 != 0) return Status::Corruption("slice list length not a multiple of 24");
  schema::AppendSlice(&v, slice);
  txn.Put(key, v);
  return Status::OK();
}

Status ChangeLength(kv::Transaction& txn, Ino ino, Attr& attr, uint64_t new_length) {
  if (new_length == attr.length) return Status::OK();
  const int64_t delta = static_cast<int64_t>(new_length) - static_cast<int64_t>(attr.length);
  if (attr.nlink == 0) {
    // Unlinked but still open: its bytes already left the usage when the last link went.
    attr.length = new_length;
    return Status::OK();
  }
  if (attr.parent != 0) {
    RETURN_IF_ERROR(UpdateUsage(txn, attr.parent, delta, 0));
    attr.length = new_length;
    return Status::OK();
  }
  // Hard-linked: every directory holding a link counts the file's bytes (once per link), so
  // each is charged, as unlink will later take the current length back from each.
  RETURN_IF_ERROR(UpdateVolumeUsage(txn, ino, delta, 0));
  const std::string prefix = schema::ParentPrefix(ino);
  ASSIGN_OR_RETURN(auto recs, txn.Scan(prefix, schema::PrefixEnd(prefix), attr.nlink + 1));
  for (const auto& kv : recs) {
    if (kv.key.size() != prefix.size() + 8 || kv.value.size() != 4) {
      return Status::Corruption("malformed hard-link parent record");
    }
    const Ino dir = GetU64BE(kv.key.data() + prefix.size());
    const int64_t links = GetU32BE(kv.value.data());
    RETURN_IF_ERROR(UpdateDirUsage(txn, dir, delta * links, 0));
  }
  attr.length = new_length;
  return Status::OK();
}

Status CheckWritableFile(const Context& ctx, const Attr& attr) {
  if (attr.type == FileType::kDirectory) return Status(Code::kIsDir, "is a directory");
  if (attr.type != FileType::kRegular) return Status::InvalidArgument("not a regular file");
  return CheckAccess(ctx, attr, 2);
}

Status PunchHoles(kv::Transaction& txn, Ino ino, uint64_t begin, uint64_t end) {
  while (begin < end) {
    const uint32_t chunk = static_cast<uint32_t>(begin >> kChunkBits);
    const uint64_t chunk_end = (uint64_t{chunk} + 1) << kChunkBits;
    const uint64_t stop = std::min(end, chunk_end);
    const uint32_t len = static_cast<uint32_t>(stop - begin);
    const uint32_t pos = static_cast<uint32_t>(begin & (kChunkSize - 1));
    RETURN_IF_ERROR(AppendToChunk(txn, ino, chunk, Slice{pos, 0, len, 0, len}));
    begin = stop;
  }
  return Status::OK();
}

}  // namespace internal

namespace internal {

// True when a record of the encoded slice list (24-byte records, id at offset 4) has `id`.
bool ListHoldsSlice(std::string_view list, uint64_t id) {
  for (size_t at = 0; at + 24 <= list.size(); at += 24) {
    if (GetU64BE(list.data() + at + 4) == id) return true;
  }
  return false;
}

}  // namespace internal

Result<uint64_t> Meta::NewSliceId() {
  if (options_.read_only) return internal::ReadOnlyError();
  return NextId(slice_ids_, internal::kNextSliceCounter);
}

Result<std::vector<Slice>> Meta::ReadChunk(Ino ino, uint32_t chunk_index) {
  std::vector<Slice> out;
  kv::TxnOptions opts;
  opts.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(out, internal::ReadChunkList(txn, ino, chunk_index));
        return Status::OK();
      },
      opts));
  return out;
}

Status Meta::WriteSlice(Ino ino, uint32_t chunk_index, const Slice& slice, const Timespec& mtime) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (slice.len == 0 || uint64_t{slice.pos} + slice.len > kChunkSize ||
      uint64_t{slice.off} + slice.len > slice.size) {
    return Status::InvalidArgument("slice window outside the chunk or the stored slice");
  }
  const uint64_t end = (uint64_t{chunk_index} << kChunkBits) + slice.pos + slice.len;
  // The hot path of every write: one round trip reads the attr, the chunk list and the usage
  // limits together (usage is then added blind).
  const std::string chunk_key = schema::ChunkKey(ino, chunk_index);
  // Idempotent by slice id (ids are never reused): a commit whose reply was lost (engine
  // restart mid-commit) is run again, finds its slice in the list, and changes nothing.
  kv::TxnOptions opts;
  opts.idempotent = true;
  return kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
    std::vector<std::string> keys = {schema::AttrKey(ino), chunk_key};
    if (end > 0) {
      for (auto& k : internal::UsageLimitKeys()) keys.push_back(std::move(k));
    }
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet(keys));
    if (!raw[0]) return Status::NotFound("no such inode " + std::to_string(ino));
    ASSIGN_OR_RETURN(Attr attr, schema::DecodeAttr(*raw[0]));
    if (attr.type != FileType::kRegular) return Status::InvalidArgument("not a regular file");
    std::string list = raw[1].value_or("");
    if (list.size() % 24 != 0) return Status::Corruption("slice list length not a multiple of 24");
    if (slice.id != 0 && internal::ListHoldsSlice(list, slice.id)) return Status::OK();
    schema::AppendSlice(&list, slice);
    txn.Put(chunk_key, list);
    if (end > attr.length) RETURN_IF_ERROR(internal::ChangeLength(txn, ino, attr, end));
    attr.mtime = mtime;
    attr.ctime = mtime;
    internal::WriteAttr(txn, ino, attr);
    return Status::OK();
      },
      opts);
}

Status Meta::CompactChunk(Ino ino, uint32_t chunk_index, const std::vector<Slice>& expected,
                          const Slice& replacement) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (expected.empty()) return Status::InvalidArgument("nothing to compact");
  // A changed list is an answer, not a retryable engine conflict: RunTxn must not loop on it,
  // so the transaction succeeds without writing and the conflict is reported after it.
  bool changed = false;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    changed = false;
    ASSIGN_OR_RETURN(auto list, internal::ReadChunkList(txn, ino, chunk_index));
    if (list.size() < expected.size() ||
        !std::equal(expected.begin(), expected.end(), list.begin())) {
      changed = true;
      return Status::OK();
    }
    std::vector<Slice> next;
    next.reserve(list.size() - expected.size() + 1);
    if (replacement.len > 0) next.push_back(replacement);
    next.insert(next.end(), list.begin() + static_cast<ptrdiff_t>(expected.size()), list.end());
    for (const Slice& s : expected) {
      if (s.id != 0) RETURN_IF_ERROR(internal::DerefSlice(txn, s.id, s.size));
    }
    internal::WriteChunkList(txn, ino, chunk_index, next);
    return Status::OK();
  }));
  if (changed) return Status::Conflict("chunk slice list changed since it was read");
  return Status::OK();
}

}  // namespace strata::meta

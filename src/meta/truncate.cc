// Truncate and fallocate (meta.h): metadata-only changes of a file's length and zero ranges.
// Shrinking drops the slice records past the new length (each dropped record loses its
// reference) and trims the record that straddles it, so that growing the file again later
// shows zeros there; growing is a hole. Punch hole / zero range append id-0 hole records, so
// no stored data is rewritten. Each call is one transaction.
#include <algorithm>

#include "meta/file_util.h"
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

// Largest file length: chunk indexes are u32.
constexpr uint64_t kMaxFileLength = uint64_t{1} << (32 + kChunkBits);
// Chunk lists dropped per scan page while shrinking (all inside the one transaction).
constexpr size_t kScanPage = 256;

// Drops every record at or after `length`: trims records straddling it, dereferences the
// records it removes, deletes chunk lists that end up empty.
Status DropSlicesFrom(kv::Transaction& txn, Ino ino, uint64_t length) {
  uint32_t first_whole = static_cast<uint32_t>(length >> kChunkBits);
  const uint32_t cut = static_cast<uint32_t>(length & (kChunkSize - 1));
  if (cut != 0) {
    // The chunk holding the new end keeps records before `cut`, trimmed to it.
    ASSIGN_OR_RETURN(auto list, internal::ReadChunkList(txn, ino, first_whole));
    std::vector<Slice> kept;
    for (Slice s : list) {
      if (s.pos >= cut) {
        if (s.id != 0) RETURN_IF_ERROR(internal::DerefSlice(txn, s.id, s.size));
        continue;
      }
      if (s.pos + s.len > cut) s.len = cut - s.pos;
      kept.push_back(s);
    }
    if (!list.empty()) internal::WriteChunkList(txn, ino, first_whole, kept);
    first_whole++;
    if (first_whole == 0) return Status::OK();  // wrapped: nothing after the last chunk
  }
  std::string begin = schema::ChunkKey(ino, first_whole);
  const std::string end = schema::PrefixEnd(schema::ChunkPrefix(ino));
  while (true) {
    ASSIGN_OR_RETURN(auto page, txn.Scan(begin, end, kScanPage));
    for (const auto& kv : page) {
      ASSIGN_OR_RETURN(auto list, schema::DecodeSlices(kv.value));
      for (const Slice& s : list) {
        if (s.id != 0) RETURN_IF_ERROR(internal::DerefSlice(txn, s.id, s.size));
      }
      txn.Delete(kv.key);
    }
    if (page.size() < kScanPage) return Status::OK();
    begin = page.back().key + '\0';
  }
}

}  // namespace

Status Meta::Truncate(const Context& ctx, Ino ino, uint64_t length) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (length > kMaxFileLength) return Status(Code::kFileTooLarge, "length past the largest file");
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(Attr attr, internal::ReadAttr(txn, ino));
    RETURN_IF_ERROR(internal::CheckWritableFile(ctx, attr));
    if (length < attr.length) RETURN_IF_ERROR(DropSlicesFrom(txn, ino, length));
    RETURN_IF_ERROR(internal::ChangeLength(txn, ino, attr, length));
    // POSIX: truncate updates mtime and ctime (ftruncate only when the size changes; the
    // kernel sends a size-only setattr in both cases, so we always do).
    attr.mtime = attr.ctime = internal::Now(*clock_);
    internal::WriteAttr(txn, ino, attr);
    return Status::OK();
  });
}

Status Meta::Fallocate(const Context& ctx, Ino ino, uint32_t mode, uint64_t offset,
                       uint64_t length) {
  if (options_.read_only) return internal::ReadOnlyError();
  const uint32_t known = kFallocKeepSize | kFallocPunchHole | kFallocZeroRange;
  if (mode & ~known) return Status::NotSupported("fallocate mode not supported");
  const bool keep = mode & kFallocKeepSize;
  const bool punch = mode & kFallocPunchHole;
  const bool zero = mode & kFallocZeroRange;
  if (length == 0) return Status::InvalidArgument("fallocate of zero bytes");
  if (punch && zero) return Status::InvalidArgument("punch hole and zero range together");
  // Linux: FALLOC_FL_PUNCH_HOLE must be ORed with FALLOC_FL_KEEP_SIZE (else EOPNOTSUPP).
  if (punch && !keep) return Status::NotSupported("punch hole needs keep size");
  if (offset > kMaxFileLength || length > kMaxFileLength - offset) {
    return Status(Code::kFileTooLarge, "range past the largest file");
  }
  const uint64_t end = offset + length;
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(Attr attr, internal::ReadAttr(txn, ino));
    RETURN_IF_ERROR(internal::CheckWritableFile(ctx, attr));
    bool changed = false;
    if (punch || zero) {
      // Past the current end there is nothing to zero: no record lies there.
      const uint64_t stop = std::min(end, attr.length);
      if (offset < stop) RETURN_IF_ERROR(internal::PunchHoles(txn, ino, offset, stop));
      changed = true;
    }
    if (!keep && end > attr.length) {
      RETURN_IF_ERROR(internal::ChangeLength(txn, ino, attr, end));
      changed = true;
    }
    if (!changed) return Status::OK();
    attr.mtime = attr.ctime = internal::Now(*clock_);
    internal::WriteAttr(txn, ino, attr);
    return Status::OK();
  });
}

}  // namespace strata::meta

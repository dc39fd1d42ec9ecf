// copy_file_range (meta.h): the destination gets slice records that point at the source's
// stored slices, so no data is copied; each new record takes a reference (RefSlice). The
// source range is first resolved (slices.h) so only visible bytes are shared; zero ranges of
// the source become hole records, which also overwrite whatever the destination held there.
#include <algorithm>

#include "meta/file_util.h"
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"
#include "meta/slices.h"

namespace strata::meta {
namespace {

constexpr uint64_t kMaxFileLength = uint64_t{1} << (32 + kChunkBits);

// A run of the source's visible bytes: [src_pos, src_pos+len) of the file shows bytes
// [off, off+len) of stored slice id (0: zeros).
struct Piece {
  uint64_t src_pos = 0;
  uint64_t len = 0;
  uint64_t id = 0;
  uint32_t size = 0;
  uint32_t off = 0;
};

// The visible view of [begin, end) of the file as pieces, in order, covering it entirely.
Result<std::vector<Piece>> VisiblePieces(kv::Transaction& txn, Ino ino, uint64_t begin,
                                         uint64_t end) {
  std::vector<Piece> out;
  auto add = [&out](Piece p) {
    if (p.len == 0) return;
    if (p.id == 0 && !out.empty() && out.back().id == 0 &&
        out.back().src_pos + out.back().len == p.src_pos) {
      out.back().len += p.len;
      return;
    }
    out.push_back(p);
  };
  for (uint64_t c = begin >> kChunkBits; (c << kChunkBits) < end; c++) {
    const uint64_t base = c << kChunkBits;
    const uint64_t lo = std::max(begin, base) - base;
    const uint64_t hi = std::min(end, base + kChunkSize) - base;
    ASSIGN_OR_RETURN(auto list, internal::ReadChunkList(txn, ino, static_cast<uint32_t>(c)));
    uint64_t cursor = lo;
    for (const Segment& g : ResolveSlices(list)) {
      const uint64_t g_begin = std::max<uint64_t>(g.pos, lo);
      const uint64_t g_end = std::min<uint64_t>(uint64_t{g.pos} + g.len, hi);
      if (g_begin >= g_end) continue;
      const uint32_t skip = static_cast<uint32_t>(g_begin - g.pos);
      add(Piece{base + g_begin, g_end - g_begin, g.id, g.id ? g.size : 0, g.id ? g.off + skip : 0});
      cursor = g_end;
    }
    if (cursor < hi) add(Piece{base + cursor, hi - cursor, 0, 0, 0});  // never written
  }
  return out;
}

}  // namespace

Result<uint64_t> Meta::CopyFileRange(const Context& ctx, Ino src, uint64_t src_off, Ino dst,
                                     uint64_t dst_off, uint64_t length) {
  if (options_.read_only) return internal::ReadOnlyError();
  uint64_t copied = 0;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    copied = 0;
    ASSIGN_OR_RETURN(Attr sattr, internal::ReadAttr(txn, src));
    ASSIGN_OR_RETURN(Attr dattr, internal::ReadAttr(txn, dst));
    if (sattr.type == FileType::kDirectory) return Status(Code::kIsDir, "source is a directory");
    if (sattr.type != FileType::kRegular) return Status::InvalidArgument("source not a file");
    RETURN_IF_ERROR(internal::CheckAccess(ctx, sattr, 4));
    RETURN_IF_ERROR(internal::CheckWritableFile(ctx, dattr));
    if (src_off >= sattr.length) return Status::OK();  // nothing to copy, as at EOF
    const uint64_t n = std::min(length, sattr.length - src_off);
    if (n == 0) return Status::OK();
    if (dst_off > kMaxFileLength || n > kMaxFileLength - dst_off) {
      return Status(Code::kFileTooLarge, "destination range past the largest file");
    }
    // Linux refuses overlapping ranges within one file with EINVAL.
    if (src == dst && dst_off < src_off + n && src_off < dst_off + n) {
      return Status::InvalidArgument("overlapping copy within one file");
    }
    // All reads of the source happen before the first write, so a copy within one file
    // (non-overlapping) sees the source as it was.
    ASSIGN_OR_RETURN(auto pieces, VisiblePieces(txn, src, src_off, src_off + n));
    for (const Piece& p : pieces) {
      uint64_t at = dst_off + (p.src_pos - src_off);
      uint64_t left = p.len;
      uint32_t off = p.off;
      while (left > 0) {
        const uint32_t chunk = static_cast<uint32_t>(at >> kChunkBits);
        const uint32_t pos = static_cast<uint32_t>(at & (kChunkSize - 1));
        const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(left, kChunkSize - pos));
        Slice rec = p.id ? Slice{pos, p.id, p.size, off, len} : Slice{pos, 0, len, 0, len};
        RETURN_IF_ERROR(internal::AppendToChunk(txn, dst, chunk, rec));
        if (p.id) {
          RETURN_IF_ERROR(internal::RefSlice(txn, p.id, p.size));
          off += len;
        }
        at += len;
        left -= len;
      }
    }
    if (dst_off + n > dattr.length)
      RETURN_IF_ERROR(internal::ChangeLength(txn, dst, dattr, dst_off + n));
    dattr.mtime = dattr.ctime = internal::Now(*clock_);
    internal::WriteAttr(txn, dst, dattr);
    copied = n;
    return Status::OK();
  }));
  return copied;
}

}  // namespace strata::meta

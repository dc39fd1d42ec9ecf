// FUSE callbacks of open files: open/create, read/write (splice-capable), flush vs release,
// fsync/fdatasync, fallocate, copy_file_range.
#include <fcntl.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "fuse/ops.h"

namespace strata::fuse::ops {
namespace {

// With the kernel's write-back cache, the kernel places appends itself (at its i_size) and
// writes back pages through any writable handle: an O_APPEND handle must then not move
// writes to the end (libfuse's passthrough example does the same). Nor must an O_SYNC handle
// fsync after each write it carries: the kernel keeps O_SYNC itself there (its write() ends
// with an FSYNC request), and the pages it writes back may be other descriptors'.
// Pieces of one read reply sent as one writev (a 1 MiB read of 4 MiB blocks has 1 or 2; holes
// add one per 64 KiB of zeros); more are flattened first.
constexpr size_t kMaxReplyPieces = 64;

int VfsFlags(fuse_req_t req, int flags) {
  if (ServerOf(req).options().writeback_cache) flags &= ~(O_APPEND | O_SYNC | O_DSYNC);
  return flags;
}

void FillFileInfo(struct fuse_file_info* fi, const vfs::OpenResult& o) {
  fi->fh = o.fh;
  fi->keep_cache = o.keep_cache ? 1 : 0;
  fi->direct_io = o.direct_io ? 1 : 0;
}

void Open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  ServerOf(req).SetReadaheadOnce();
  Guarded(req, [&] {
    auto r = VolumeOf(req).OpenFile(ContextOf(req), ino, VfsFlags(req, fi->flags));
    if (!r.ok()) return ReplyStatus(req, r.status());
    FillFileInfo(fi, *r);
    if (fuse_reply_open(req, fi) != 0) (void)VolumeOf(req).Release(ino, r->fh);  // interrupted
  });
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            struct fuse_file_info* fi) {
  Guarded(req, [&] {
    auto r = VolumeOf(req).Create(ContextOf(req), parent, name, mode & 07777,
                                  VfsFlags(req, fi->flags));
    if (!r.ok()) return ReplyStatus(req, r.status());
    FillFileInfo(fi, r->open);
    struct fuse_entry_param e = ToEntryParam(req, r->entry);
    VolumeOf(req).AddRef(r->entry.ino);
    if (fuse_reply_create(req, &e, fi) != 0) {
      VolumeOf(req).Forget(r->entry.ino, 1);
      (void)VolumeOf(req).Release(r->entry.ino, r->open.fh);
    }
  });
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  Guarded(req, [&] {
    chunk::ReadBuffer buf;
    // A read of .accesslog waits for lines; a signal to the reader ends the wait (EINTR).
    Status s = VolumeOf(req).ReadInto(ContextOf(req), ino, fi->fh, static_cast<uint64_t>(off),
                                      size, &buf, [req] { return fuse_req_interrupted(req) != 0; });
    if (!s.ok()) return ReplyStatus(req, s);
    if (FuseOpMetrics* m = ServerOf(req).op_metrics()) m->read_bytes->Inc(buf.size());
    // One writev from the cached blocks into the kernel's pages: no copy in between.
    const auto& pieces = buf.pieces();
    if (pieces.size() <= kMaxReplyPieces) {
      struct iovec iov[kMaxReplyPieces];
      for (size_t i = 0; i < pieces.size(); i++) {
        iov[i].iov_base = const_cast<char*>(pieces[i].data);
        iov[i].iov_len = pieces[i].len;
      }
      fuse_reply_iov(req, iov, static_cast<int>(pieces.size()));
      return;
    }
    std::string flat = buf.Flatten();  // a read of many small pieces (a fragmented chunk)
    fuse_reply_buf(req, flat.data(), flat.size());
  });
}

void WriteBuf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec* in, off_t off,
              struct fuse_file_info* fi) {
  Guarded(req, [&] {
    size_t size = fuse_buf_size(in);
    std::string data;
    const char* ptr = nullptr;
    // A single memory buffer (no splice) is used in place; a pipe (splice) is copied out once.
    if (in->count == 1 && !(in->buf[0].flags & FUSE_BUF_IS_FD) && in->off == 0) {
      ptr = static_cast<const char*>(in->buf[0].mem);
    } else {
      data.resize(size);
      struct fuse_bufvec out = FUSE_BUFVEC_INIT(size);
      out.buf[0].mem = data.data();
      ssize_t n = fuse_buf_copy(&out, in, static_cast<fuse_buf_copy_flags>(0));
      if (n < 0) return (void)ReplyErr(req, static_cast<int>(-n));
      data.resize(static_cast<size_t>(n));
      ptr = data.data();
      size = data.size();
    }
    auto r = VolumeOf(req).Write(ContextOf(req), ino, fi->fh, static_cast<uint64_t>(off),
                                 std::string_view(ptr, size));
    if (!r.ok()) return ReplyStatus(req, r.status());
    if (FuseOpMetrics* m = ServerOf(req).op_metrics()) m->written_bytes->Inc(*r);
    fuse_reply_write(req, *r);
  });
}

void Flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Guarded(req, [&] {
    ReplyStatus(req, VolumeOf(req).Flush(ContextOf(req), ino, fi->fh, fi->lock_owner));
  });
}

void Release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Guarded(req, [&] { ReplyStatus(req, VolumeOf(req).Release(ino, fi->fh)); });
}

void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info* fi) {
  Guarded(req, [&] {
    ReplyStatus(req, VolumeOf(req).Fsync(ContextOf(req), ino, fi->fh, datasync != 0));
  });
}

void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
               struct fuse_file_info* fi) {
  Guarded(req, [&] {
    if (offset < 0 || length <= 0) return (void)ReplyErr(req, EINVAL);
    ReplyStatus(req, VolumeOf(req).Fallocate(ContextOf(req), ino, fi->fh,
                                             static_cast<uint32_t>(mode),
                                             static_cast<uint64_t>(offset),
                                             static_cast<uint64_t>(length)));
  });
}

void CopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info* fi_in,
                   fuse_ino_t ino_out, off_t off_out, struct fuse_file_info* fi_out, size_t len,
                   int flags) {
  Guarded(req, [&] {
    if (flags != 0) return (void)ReplyErr(req, EINVAL);
    auto r = VolumeOf(req).CopyFileRange(ContextOf(req), ino_in, fi_in->fh,
                                         static_cast<uint64_t>(off_in), ino_out, fi_out->fh,
                                         static_cast<uint64_t>(off_out), len);
    if (!r.ok()) return ReplyStatus(req, r.status());
    fuse_reply_write(req, static_cast<size_t>(*r));
  });
}

}  // namespace

void FillFileOps(struct fuse_lowlevel_ops& t) {
  t.open = Open;
  t.create = Create;
  t.read = Read;
  t.write_buf = WriteBuf;
  t.flush = Flush;
  t.release = Release;
  t.fsync = Fsync;
  t.fallocate = Fallocate;
  t.copy_file_range = CopyFileRange;
}

}  // namespace strata::fuse::ops

// Volume: open files. Data goes through the ChunkStore (writer/reader); metadata through Meta.
// close() = Flush: every pending slice of the file uploaded and committed (DESIGN.md §6).
// Write errors follow errseq semantics (chunk/writer.h): each handle keeps a cursor into its
// file's error sequence, so every handle open when an upload or commit failed hears of it once,
// at its next close (handles open for writing) or fsync (any handle), and no handle hides it
// from another. Truncate, fallocate, copy_file_range and O_TRUNC only wait for pending slices
// (Drain): they neither report nor consume the errors, which stay for the handles.
#include <fcntl.h>

#include <algorithm>
#include <cstdio>

#include "common/logging.h"
#include "vfs/volume_impl.h"

namespace strata::vfs {
namespace {

bool WantsWrite(int flags) {
  int acc = flags & O_ACCMODE;
  return acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC);
}

bool Writable(const FileHandle& h) { return (h.flags & O_ACCMODE) != O_RDONLY; }

// fsync of the handle's file: blocks and commits durable (writer.h), errors through the cursor,
// then the engine synced.
Status SyncFile(Volume::Impl& impl, FileHandle& h) {
  RETURN_IF_ERROR(impl.chunks->Fsync(h.ino, &h.wb_err));
  // The writer synced the engine it commits to; this is the volume's engine (the same one
  // today), synced again so that the promise does not depend on the data path's wiring.
  return impl.engine->Sync();
}

}  // namespace

// Registers the handle and decides keep_cache from the attr seen at this open.
static OpenResult FinishOpen(Volume::Impl& impl, meta::Ino vol, int flags,
                             const meta::Attr& attr, bool truncated) {
  auto h = std::make_shared<FileHandle>();
  h->ino = vol;
  h->flags = flags;
  h->parent = attr.parent;
  h->wb_err = impl.chunks->OpenErrorCursor(vol);  // errors from now on are this handle's
  OpenResult r;
  {
    std::lock_guard<std::mutex> l(impl.inodes_mu);
    InodeState& st = impl.inodes[vol];
    r.keep_cache = !truncated && st.have_open_attr && st.open_mtime == attr.mtime &&
                   st.open_length == attr.length;
    st.have_open_attr = true;
    st.open_mtime = attr.mtime;
    st.open_length = attr.length;
    st.open_handles++;
    st.length = std::max(attr.length, impl.chunks->PendingEnd(vol));
  }
  r.direct_io = (flags & O_DIRECT) != 0;
  r.fh = impl.AddFile(std::move(h));
  return r;
}

Result<OpenResult> Volume::OpenFile(const Context& ctx, Ino ino, int flags) {
  if (IsVirtualIno(ino)) {
    RETURN_IF_ERROR(Access(ctx, ino, 4 /* R_OK */));
    OpenResult r;
    ASSIGN_OR_RETURN(r.fh, impl_->virt->Open(ino, flags));
    r.direct_io = true;  // rendered per open / streamed: never from the page cache
    return r;
  }
  if (WantsWrite(flags)) RETURN_IF_ERROR(impl_->CheckWritable());
  meta::Ino v = impl_->ToVol(ino);
  ASSIGN_OR_RETURN(meta::Attr attr, impl_->meta->OpenFile(ctx, v, flags));
  if (attr.type == meta::FileType::kDirectory) {
    (void)impl_->meta->CloseFile(v);  // deliberate drop: the open is refused anyway
    return Status(Code::kIsDir, "is a directory");
  }
  bool truncated = false;
  if ((flags & O_TRUNC) && attr.type == meta::FileType::kRegular) {
    // Pending slices land before the truncate; their errors stay for the open handles.
    impl_->chunks->Drain(v);
    meta::SetAttrRequest req;
    req.mask = meta::kSetSize;
    req.size = 0;
    auto a = impl_->meta->SetAttr(ctx, v, req);
    if (!a.ok()) {
      (void)impl_->meta->CloseFile(v);  // deliberate drop: the truncate error is reported
      return a.status();
    }
    attr = *a;
    truncated = true;
  }
  // Close-to-open: see what other clients committed before this open.
  impl_->chunks->InvalidateFile(v);
  return FinishOpen(*impl_, v, flags, attr, truncated);
}

Result<CreateResult> Volume::Create(const Context& ctx, Ino parent, const std::string& name,
                                    uint32_t mode, int flags) {
  if (VirtualFiles::Reserved(parent, name)) return Status::AlreadyExists(name);
  RETURN_IF_ERROR(impl_->CheckWritable());
  auto made = impl_->meta->Mknod(ctx, impl_->ToVol(parent), name, meta::FileType::kRegular,
                                 mode, 0);
  if (!made.ok() && made.status().Is(Code::kAlreadyExists) && !(flags & O_EXCL)) {
    // Another client created the name since the kernel's lookup: open it as open(2) would.
    ASSIGN_OR_RETURN(meta::Entry existing, impl_->meta->Lookup(ctx, impl_->ToVol(parent), name));
    ASSIGN_OR_RETURN(OpenResult o, OpenFile(ctx, impl_->ToClient(existing.ino), flags));
    CreateResult r;
    r.open = o;
    ASSIGN_OR_RETURN(meta::Attr a, impl_->meta->GetAttr(existing.ino));
    r.entry = impl_->ClientEntry(meta::Entry{existing.ino, a});
    return r;
  }
  if (!made.ok()) return made.status();
  meta::Entry e = *made;
  // The creating open succeeds whatever the new mode says (open(2)). The attr is the one the
  // create committed: no second read (issue 10).
  impl_->meta->OpenCreated(e.ino);
  CreateResult r;
  r.open = FinishOpen(*impl_, e.ino, flags, e.attr, true);
  r.entry = impl_->ClientEntry(e);
  return r;
}

Status Volume::Read(const Context& ctx, Ino ino, uint64_t fh, uint64_t off, size_t size,
                    std::string* out, const std::function<bool()>& interrupted) {
  if (IsVirtualIno(ino)) return impl_->virt->Read(fh, off, size, out, interrupted);
  chunk::ReadBuffer buf;
  RETURN_IF_ERROR(ReadInto(ctx, ino, fh, off, size, &buf, interrupted));
  *out = buf.Flatten();
  return Status::OK();
}

Status Volume::ReadInto(const Context& ctx, Ino ino, uint64_t fh, uint64_t off, size_t size,
                        chunk::ReadBuffer* out, const std::function<bool()>& interrupted) {
  if (IsVirtualIno(ino)) {
    std::string bytes;
    RETURN_IF_ERROR(impl_->virt->Read(fh, off, size, &bytes, interrupted));
    *out = chunk::ReadBuffer();
    out->AppendOwned(std::move(bytes));
    return Status::OK();
  }
  auto h = impl_->GetFile(fh);
  if (!h) return Status(Code::kBadHandle, "unknown file handle");
  // No check of O_WRONLY here: the kernel enforces descriptor modes, and with its write-back
  // cache it reads through write-only handles to fill partly written pages.
  uint64_t length = impl_->KnownLength(h->ino);
  // No handle lock: the ReadState guards itself, and the kernel's concurrent reads of one
  // handle (async read, readahead) proceed in parallel.
  Status st = impl_->chunks->ReadInto(h->ino, off, size, length, &h->read_state, out);
  if (!st.ok()) {
    // The reader returns EIO to the application; the log keeps what and where (the block key
    // is in the status).
    LOG_WARN_EVERY("read of inode {} at {} (+{}) failed: {}", h->ino, off, size, st.ToString());
    return st;
  }
  return Status::OK();
}

Result<size_t> Volume::Write(const Context& ctx, Ino ino, uint64_t fh, uint64_t off,
                             std::string_view data) {
  if (IsVirtualIno(ino)) return Status(Code::kBadHandle, "not open for writing");
  RETURN_IF_ERROR(impl_->CheckWritable());
  auto h = impl_->GetFile(fh);
  if (!h) return Status(Code::kBadHandle, "unknown file handle");
  if ((h->flags & O_ACCMODE) == O_RDONLY) return Status(Code::kBadHandle, "not open for writing");
  if (h->flags & O_APPEND) {
    // Appends go to the end this client knows, including other handles' pending writes.
    off = impl_->KnownLength(h->ino);
  }
  if (h->parent != 0) {
    // Growth past a quota (or the volume's capacity) is refused before the data is taken
    // when this mount can tell (cache only); the commit checks in any case.
    const uint64_t known = impl_->KnownLength(h->ino);
    if (off + data.size() > known) {
      RETURN_IF_ERROR(impl_->meta->CheckGrowth(h->parent, off + data.size() - known));
    }
  }
  RETURN_IF_ERROR(impl_->chunks->Write(h->ino, off, data, &h->wb_err));
  impl_->RaiseKnownLength(h->ino, off + data.size());
  // O_SYNC / O_DSYNC (O_SYNC includes the O_DSYNC bit): durable when write() returns.
  if (h->flags & O_DSYNC) RETURN_IF_ERROR(SyncFile(*impl_, *h));
  return data.size();
}

Status Volume::Flush(const Context& ctx, Ino ino, uint64_t fh, uint64_t lock_owner) {
  if (IsVirtualIno(ino)) return Status::OK();  // nothing written, nothing locked
  auto h = impl_->GetFile(fh);
  if (!h) return Status(Code::kBadHandle, "unknown file handle");
  // A read-only handle has written nothing: its close reports no write errors (as NFS does);
  // they stay for the writers' closes and for fsync.
  Status s = Writable(*h) ? impl_->chunks->Flush(h->ino, &h->wb_err) : Status::OK();
  bool locked = false;
  {
    std::lock_guard<std::mutex> l(impl_->inodes_mu);
    auto it = impl_->inodes.find(h->ino);
    locked = it != impl_->inodes.end() && it->second.posix_locked;
  }
  if (locked && !impl_->options.read_only) {
    // close() drops the POSIX locks of the closing process (its lock owner).
    Status l = impl_->meta->ReleaseLocks(h->ino, lock_owner);
    if (s.ok() && !l.ok() && !l.Is(Code::kNotFound)) s = l;
  }
  return s;
}

Status Volume::Release(Ino ino, uint64_t fh) {
  if (IsVirtualIno(ino)) return impl_->virt->Release(fh);
  std::shared_ptr<FileHandle> h;
  {
    std::lock_guard<std::mutex> l(impl_->handles_mu);
    auto it = impl_->files.find(fh);
    if (it == impl_->files.end()) return Status(Code::kBadHandle, "unknown file handle");
    h = it->second;
    impl_->files.erase(it);
  }
  // Writes after the last flush (pages the kernel wrote back after close) still land. A
  // release cannot report an error (the kernel ignores its reply): an error nobody saw becomes
  // an orphan when this was the file's last handle, logged and reported to the next handle.
  if (impl_->chunks->writer()->HasPending(h->ino)) impl_->chunks->Drain(h->ino);
  impl_->chunks->CloseErrorCursor(h->ino);
  std::optional<uint64_t> flock_owner;
  {
    std::lock_guard<std::mutex> l(h->mu);
    flock_owner = h->flock_owner;
  }
  if (flock_owner && !impl_->options.read_only) {
    Status l = impl_->meta->ReleaseLocks(h->ino, *flock_owner);
    if (!l.ok() && !l.Is(Code::kNotFound)) {
      // Absorbed: the lock dies with the session anyway (expiry cleanup), but say so.
      LOG_WARN_EVERY("releasing the flock of inode {} at close failed: {}", h->ino, l.ToString());
    }
  }
  Status c = impl_->meta->CloseFile(h->ino);
  {
    std::lock_guard<std::mutex> l(impl_->inodes_mu);
    auto it = impl_->inodes.find(h->ino);
    if (it != impl_->inodes.end() && it->second.open_handles > 0) it->second.open_handles--;
    impl_->MaybeDropLocked(h->ino);
  }
  return c;
}

Status Volume::Fsync(const Context& ctx, Ino ino, uint64_t fh, bool datasync) {
  if (IsVirtualIno(ino)) return Status::OK();
  auto h = impl_->GetFile(fh);
  if (!h) return Status(Code::kBadHandle, "unknown file handle");
  return SyncFile(*impl_, *h);
}

Status Volume::Fallocate(const Context& ctx, Ino ino, uint64_t fh, uint32_t mode, uint64_t off,
                         uint64_t len) {
  if (IsVirtualIno(ino)) return Status(Code::kBadHandle, "not open for writing");
  RETURN_IF_ERROR(impl_->CheckWritable());
  meta::Ino v = impl_->ToVol(ino);
  impl_->chunks->Drain(v);
  RETURN_IF_ERROR(impl_->meta->Fallocate(ctx, v, mode, off, len));
  impl_->chunks->InvalidateFile(v);
  return impl_->RefreshLength(v);
}

Result<uint64_t> Volume::CopyFileRange(const Context& ctx, Ino ino_in, uint64_t fh_in,
                                       uint64_t off_in, Ino ino_out, uint64_t fh_out,
                                       uint64_t off_out, uint64_t len) {
  if (IsVirtualIno(ino_out)) return Status(Code::kBadHandle, "not open for writing");
  // Virtual data is not in slices: the caller falls back to read + write.
  if (IsVirtualIno(ino_in)) return Status(Code::kCrossDevice, "virtual file");
  RETURN_IF_ERROR(impl_->CheckWritable());
  meta::Ino src = impl_->ToVol(ino_in);
  meta::Ino dst = impl_->ToVol(ino_out);
  impl_->chunks->Drain(src);
  if (dst != src) impl_->chunks->Drain(dst);
  // Sharing slices whose blocks are still staged here would tie dst's data to a staged file
  // that records src as its only owner: were this mount killed and src's slice dropped, the
  // restart would discard the block dst still needs (docs/format/staging.md). While anything
  // is staged, the caller copies the bytes instead (EXDEV: the kernel falls back to read +
  // write), so dst gets slices of its own.
  if (cache::StagingTier* staging = impl_->chunks->staging();
      staging != nullptr && staging->stats().blocks > 0) {
    return Status(Code::kCrossDevice, "blocks are staged: copy the bytes");
  }
  ASSIGN_OR_RETURN(uint64_t n, impl_->meta->CopyFileRange(ctx, src, off_in, dst, off_out, len));
  impl_->chunks->InvalidateFile(dst);
  RETURN_IF_ERROR(impl_->RefreshLength(dst));
  return n;
}

}  // namespace strata::vfs

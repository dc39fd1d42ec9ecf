// FUSE callbacks of the namespace: init, lookup/forget, attributes, mknod/mkdir/symlink/link,
// unlink/rmdir/rename, statfs, access.
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "fuse/ops.h"

namespace strata::fuse::ops {
namespace {

meta::FileType TypeOfMode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR: return meta::FileType::kDirectory;
    case S_IFLNK: return meta::FileType::kSymlink;
    case S_IFIFO: return meta::FileType::kFifo;
    case S_IFBLK: return meta::FileType::kBlockDev;
    case S_IFCHR: return meta::FileType::kCharDev;
    case S_IFSOCK: return meta::FileType::kSocket;
    default: return meta::FileType::kRegular;
  }
}

void Init(void* userdata, struct fuse_conn_info* conn) {
  auto* server = static_cast<FuseServer*>(userdata);
  const FuseOptions& o = server->options();
  auto want = [conn](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  // Splice, in libfuse's terms (fuse_common.h): SPLICE_READ is how requests are READ from
  // /dev/fuse, SPLICE_WRITE how replies are WRITTEN to it. So requests arrive through a pipe:
  // a WRITE's data stays there and WriteBuf (ops_file.cc) copies it out once; smaller
  // requests libfuse copies into memory. Replies are not spliced: a READ reply is one writev
  // of the cached blocks (fuse_reply_iov, which never splices), the one copy into the
  // kernel's pages; splicing memory would add a vmsplice and a pipe for that same copy, and
  // splicing the cache file would read it through the page cache, which O_DIRECT cache reads
  // avoid (bench/RESULTS.md "The 4 GiB local and peer hit"), and without its checksum checked.
  conn->want &= ~(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  want(FUSE_CAP_SPLICE_READ);
  want(FUSE_CAP_FLOCK_LOCKS);
  want(FUSE_CAP_POSIX_LOCKS);
  want(FUSE_CAP_ATOMIC_O_TRUNC);
  want(FUSE_CAP_EXPORT_SUPPORT);
  want(FUSE_CAP_READDIRPLUS);
  want(FUSE_CAP_READDIRPLUS_AUTO);
  want(FUSE_CAP_PARALLEL_DIROPS);
  want(FUSE_CAP_ASYNC_READ);
  // Page cache is kept only when an open finds the file unchanged (keep_cache); never let the
  // kernel decide on mtime alone.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  // The kernel clears setuid/setgid on write and chown itself (it sends a setattr).
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  // The kernel applies the umask before sending a mode (no FUSE_CAP_DONT_MASK).
  conn->want &= ~FUSE_CAP_DONT_MASK;
  if (o.writeback_cache) {
    want(FUSE_CAP_WRITEBACK_CACHE);
  } else {
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  }
  conn->max_write = o.max_write;
  // The kernel caps this by what it offered (128 KiB); the first open raises the mount's
  // readahead through sysfs (fuse_server.h max_readahead).
  conn->max_readahead = std::max(o.max_write, o.max_readahead);
  conn->max_background = 64;
  conn->congestion_threshold = 48;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] {
    auto r = VolumeOf(req).Lookup(ContextOf(req), parent, name);
    if (!r.ok()) {
      double neg = ServerOf(req).options().negative_timeout;
      if (r.status().Is(Code::kNotFound) && neg > 0) {
        struct fuse_entry_param e;
        std::memset(&e, 0, sizeof(e));
        e.entry_timeout = neg;
        fuse_reply_entry(req, &e);
        return;
      }
      return ReplyStatus(req, r.status());
    }
    struct fuse_entry_param e = ToEntryParam(req, *r);
    VolumeOf(req).AddRef(r->ino);
    if (fuse_reply_entry(req, &e) != 0) VolumeOf(req).Forget(r->ino, 1);
  });
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  GuardedNoReply(req, [&] {
    VolumeOf(req).Forget(ino, nlookup);
    fuse_reply_none(req);
  });
}

void ForgetMulti(fuse_req_t req, size_t count, struct fuse_forget_data* forgets) {
  GuardedNoReply(req, [&] {
    for (size_t i = 0; i < count; ++i) VolumeOf(req).Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  });
}

void ReplyAttr(fuse_req_t req, fuse_ino_t ino, const Result<meta::Attr>& r) {
  if (!r.ok()) return ReplyStatus(req, r.status());
  struct stat st = ToStat(ino, *r, VolumeOf(req).block_size());
  fuse_reply_attr(req, &st, ServerOf(req).options().attr_timeout);
}

// A directory's attrs may come from this client's own last commit of them (vfs.h
// GetAttrForKernel): the kernel then keeps them for what is left of its attr timeout, so they
// are never older than that timeout, as if the kernel had asked at that commit.
void GetAttr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Guarded(req, [&] {
    const double timeout = ServerOf(req).options().attr_timeout;
    std::chrono::nanoseconds age(0);
    auto r = VolumeOf(req).GetAttrForKernel(
        ContextOf(req), ino,
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::duration<double>(timeout)),
        &age);
    if (!r.ok()) return ReplyStatus(req, r.status());
    struct stat st = ToStat(ino, *r, VolumeOf(req).block_size());
    const double left = timeout - std::chrono::duration<double>(age).count();
    fuse_reply_attr(req, &st, left > 0 ? left : 0);
  });
}

meta::SetAttrRequest ToSetAttr(const struct stat* attr, int to_set) {
  meta::SetAttrRequest q;
  if (to_set & FUSE_SET_ATTR_MODE) { q.mask |= meta::kSetMode; q.mode = attr->st_mode & 07777; }
  if (to_set & FUSE_SET_ATTR_UID) { q.mask |= meta::kSetUid; q.uid = attr->st_uid; }
  if (to_set & FUSE_SET_ATTR_GID) { q.mask |= meta::kSetGid; q.gid = attr->st_gid; }
  if (to_set & FUSE_SET_ATTR_SIZE) {
    q.mask |= meta::kSetSize;
    q.size = static_cast<uint64_t>(attr->st_size);
  }
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    q.mask |= meta::kSetAtimeNow;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    q.mask |= meta::kSetAtime;
    q.atime = {attr->st_atim.tv_sec, static_cast<uint32_t>(attr->st_atim.tv_nsec)};
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    q.mask |= meta::kSetMtimeNow;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    q.mask |= meta::kSetMtime;
    q.mtime = {attr->st_mtim.tv_sec, static_cast<uint32_t>(attr->st_mtim.tv_nsec)};
  }
  if (to_set & FUSE_SET_ATTR_CTIME) {
    q.mask |= meta::kSetCtime;
    q.ctime = {attr->st_ctim.tv_sec, static_cast<uint32_t>(attr->st_ctim.tv_nsec)};
  }
  return q;
}

void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
             struct fuse_file_info* fi) {
  Guarded(req, [&] {
    std::optional<uint64_t> fh;
    if (fi != nullptr) fh = fi->fh;
    ReplyAttr(req, ino,
              VolumeOf(req).SetAttr(ContextOf(req), ino, ToSetAttr(attr, to_set), fh));
  });
}

void ReadLink(fuse_req_t req, fuse_ino_t ino) {
  Guarded(req, [&] {
    auto r = VolumeOf(req).ReadLink(ContextOf(req), ino);
    if (!r.ok()) return ReplyStatus(req, r.status());
    fuse_reply_readlink(req, r->c_str());
  });
}

void ReplyNewEntry(fuse_req_t req, const Result<meta::Entry>& r) {
  if (!r.ok()) return ReplyStatus(req, r.status());
  struct fuse_entry_param e = ToEntryParam(req, *r);
  VolumeOf(req).AddRef(r->ino);
  if (fuse_reply_entry(req, &e) != 0) VolumeOf(req).Forget(r->ino, 1);
}

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Guarded(req, [&] {
    ReplyNewEntry(req, VolumeOf(req).Mknod(ContextOf(req), parent, name, TypeOfMode(mode),
                                           mode & 07777, static_cast<uint32_t>(rdev)));
  });
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Guarded(req, [&] {
    ReplyNewEntry(req, VolumeOf(req).Mkdir(ContextOf(req), parent, name, mode & 07777));
  });
}

void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] {
    ReplyNewEntry(req, VolumeOf(req).Symlink(ContextOf(req), parent, name, link));
  });
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  Guarded(req, [&] {
    ReplyNewEntry(req, VolumeOf(req).Link(ContextOf(req), ino, new_parent, new_name));
  });
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] { ReplyStatus(req, VolumeOf(req).Unlink(ContextOf(req), parent, name)); });
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] { ReplyStatus(req, VolumeOf(req).Rmdir(ContextOf(req), parent, name)); });
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
            const char* new_name, unsigned int flags) {
  Guarded(req, [&] {
    uint32_t f = 0;
    if (flags & RENAME_NOREPLACE) f |= meta::kRenameNoReplace;
    if (flags & RENAME_EXCHANGE) f |= meta::kRenameExchange;
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return (void)ReplyErr(req, EINVAL);
    ReplyStatus(req, VolumeOf(req).Rename(ContextOf(req), parent, name, new_parent, new_name, f));
  });
}

void StatFs(fuse_req_t req, fuse_ino_t ino) {
  Guarded(req, [&] {
    auto r = VolumeOf(req).StatFs(ContextOf(req), ino);
    if (!r.ok()) return ReplyStatus(req, r.status());
    struct statvfs sv;
    std::memset(&sv, 0, sizeof(sv));
    const uint64_t bsize = 4096;
    sv.f_bsize = bsize;
    sv.f_frsize = bsize;
    uint64_t total = r->total_bytes / bsize;
    uint64_t used = (r->used_bytes + bsize - 1) / bsize;
    sv.f_blocks = total;
    sv.f_bfree = total > used ? total - used : 0;
    sv.f_bavail = sv.f_bfree;
    sv.f_files = r->total_inodes;
    sv.f_ffree = r->total_inodes > r->used_inodes ? r->total_inodes - r->used_inodes : 0;
    sv.f_favail = sv.f_ffree;
    sv.f_namemax = meta::kMaxNameLen;
    fuse_reply_statfs(req, &sv);
  });
}

void Access(fuse_req_t req, fuse_ino_t ino, int mask) {
  Guarded(req, [&] { ReplyStatus(req, VolumeOf(req).Access(ContextOf(req), ino, mask)); });
}

}  // namespace

void FillEntryOps(struct fuse_lowlevel_ops& t) {
  t.init = Init;
  t.lookup = Lookup;
  t.forget = Forget;
  t.forget_multi = ForgetMulti;
  t.getattr = GetAttr;
  t.setattr = SetAttr;
  t.readlink = ReadLink;
  t.mknod = Mknod;
  t.mkdir = Mkdir;
  t.symlink = Symlink;
  t.link = Link;
  t.unlink = Unlink;
  t.rmdir = Rmdir;
  t.rename = Rename;
  t.statfs = StatFs;
  t.access = Access;
}

}  // namespace strata::fuse::ops

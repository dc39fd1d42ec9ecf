// FUSE callbacks of directories: opendir, readdir, readdirplus, releasedir, fsyncdir.
#include <cerrno>
#include <cstring>
#include <string>

#include "fuse/ops.h"

namespace strata::fuse::ops {
namespace {

void OpenDir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Guarded(req, [&] {
    auto r = VolumeOf(req).OpenDir(ContextOf(req), ino);
    if (!r.ok()) return ReplyStatus(req, r.status());
    fi->fh = *r;
    if (fuse_reply_open(req, fi) != 0) (void)VolumeOf(req).ReleaseDir(ino, *r);
  });
}

// Fills up to `size` bytes of dirents starting after `off`. With plus, each entry other than
// "." and ".." counts one kernel reference (undone when the reply fails).
void DoReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi,
               bool plus) {
  vfs::Volume& vol = VolumeOf(req);
  // A dirent is at least ~32 bytes (plus: ~150); fetch about what fits.
  size_t max_items = plus ? size / 150 + 1 : size / 32 + 1;
  auto r = vol.ReadDir(ContextOf(req), ino, fi->fh, static_cast<uint64_t>(off), max_items, plus);
  if (!r.ok()) return ReplyStatus(req, r.status());
  std::string buf(size, '\0');
  size_t used = 0;
  std::vector<meta::Ino> counted;
  for (const vfs::DirItem& item : *r) {
    size_t rem = size - used;
    size_t n;
    if (plus) {
      struct fuse_entry_param e;
      std::memset(&e, 0, sizeof(e));
      bool dot = item.name == "." || item.name == "..";
      if (item.attr) {
        e = ToEntryParam(req, meta::Entry{item.ino, *item.attr});
      } else {
        e.attr.st_ino = item.ino;
      }
      // "." and ".." create no dentry in the kernel, so they take no reference.
      if (dot) {
        e.ino = 0;
      }
      n = fuse_add_direntry_plus(req, buf.data() + used, rem, item.name.c_str(), &e,
                                 static_cast<off_t>(item.offset));
      if (n > rem) break;
      if (!dot && e.ino != 0) {
        vol.AddRef(item.ino);
        counted.push_back(item.ino);
      }
    } else {
      struct stat st;
      std::memset(&st, 0, sizeof(st));
      st.st_ino = item.ino;
      st.st_mode = item.attr ? ToStat(item.ino, *item.attr, 0).st_mode
                             : (item.type == meta::FileType::kDirectory ? S_IFDIR : S_IFREG);
      if (!item.attr) {
        switch (item.type) {
          case meta::FileType::kSymlink: st.st_mode = S_IFLNK; break;
          case meta::FileType::kFifo: st.st_mode = S_IFIFO; break;
          case meta::FileType::kSocket: st.st_mode = S_IFSOCK; break;
          case meta::FileType::kCharDev: st.st_mode = S_IFCHR; break;
          case meta::FileType::kBlockDev: st.st_mode = S_IFBLK; break;
          default: break;
        }
      }
      n = fuse_add_direntry(req, buf.data() + used, rem, item.name.c_str(), &st,
                            static_cast<off_t>(item.offset));
      if (n > rem) break;
    }
    used += n;
  }
  if (fuse_reply_buf(req, buf.data(), used) != 0) {
    for (meta::Ino i : counted) vol.Forget(i, 1);
  }
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  Guarded(req, [&] { DoReadDir(req, ino, size, off, fi, false); });
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                 struct fuse_file_info* fi) {
  Guarded(req, [&] { DoReadDir(req, ino, size, off, fi, true); });
}

void ReleaseDir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Guarded(req, [&] { ReplyStatus(req, VolumeOf(req).ReleaseDir(ino, fi->fh)); });
}

void FsyncDir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info* fi) {
  Guarded(req, [&] {
    ReplyStatus(req, VolumeOf(req).FsyncDir(ContextOf(req), ino, fi->fh, datasync != 0));
  });
}

}  // namespace

void FillDirOps(struct fuse_lowlevel_ops& t) {
  t.opendir = OpenDir;
  t.readdir = ReadDir;
  t.readdirplus = ReadDirPlus;
  t.releasedir = ReleaseDir;
  t.fsyncdir = FsyncDir;
}

}  // namespace strata::fuse::ops

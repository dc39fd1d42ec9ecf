// Shared helpers of the FUSE callbacks and the assembled callback table.
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fuse/ops.h"

namespace strata::fuse {
namespace ops {

FuseServer& ServerOf(fuse_req_t req) {
  return *static_cast<FuseServer*>(fuse_req_userdata(req));
}

vfs::Volume& VolumeOf(fuse_req_t req) { return ServerOf(req).volume(); }

meta::Context ContextOf(fuse_req_t req) {
  const struct fuse_ctx* c = fuse_req_ctx(req);
  meta::Context ctx;
  ctx.uid = c->uid;
  ctx.gid = c->gid;
  ctx.pid = static_cast<uint32_t>(c->pid);
  // Root passes every permission check, so reading /proc for its groups would be wasted work.
  if (c->uid != 0) {
    gid_t groups[64];
    int n = fuse_req_getgroups(req, 64, groups);
    if (n > 64) {
      std::vector<gid_t> big(n);
      n = fuse_req_getgroups(req, n, big.data());
      for (int i = 0; i < n && i < static_cast<int>(big.size()); ++i) ctx.groups.push_back(big[i]);
    } else {
      for (int i = 0; i < n; ++i) ctx.groups.push_back(groups[i]);
    }
  }
  return ctx;
}

static mode_t TypeBits(meta::FileType type) {
  switch (type) {
    case meta::FileType::kRegular: return S_IFREG;
    case meta::FileType::kDirectory: return S_IFDIR;
    case meta::FileType::kSymlink: return S_IFLNK;
    case meta::FileType::kFifo: return S_IFIFO;
    case meta::FileType::kBlockDev: return S_IFBLK;
    case meta::FileType::kCharDev: return S_IFCHR;
    case meta::FileType::kSocket: return S_IFSOCK;
  }
  return S_IFREG;
}

struct stat ToStat(meta::Ino ino, const meta::Attr& attr, uint32_t block_size) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  st.st_ino = ino;
  st.st_mode = TypeBits(attr.type) | (attr.mode & 07777);
  st.st_nlink = attr.nlink;
  st.st_uid = attr.uid;
  st.st_gid = attr.gid;
  st.st_rdev = attr.rdev;
  st.st_size = static_cast<off_t>(attr.length);
  // Blocks actually stored are not known without reading slices; report the length rounded
  // up, as most FUSE file systems do (du then shows the logical size).
  st.st_blocks = static_cast<blkcnt_t>((attr.length + 511) / 512);
  st.st_blksize = 1 << 17;  // 128 KiB: large enough for stdio and cp to do big I/O
  (void)block_size;
  st.st_atim.tv_sec = attr.atime.sec;
  st.st_atim.tv_nsec = attr.atime.nsec;
  st.st_mtim.tv_sec = attr.mtime.sec;
  st.st_mtim.tv_nsec = attr.mtime.nsec;
  st.st_ctim.tv_sec = attr.ctime.sec;
  st.st_ctim.tv_nsec = attr.ctime.nsec;
  return st;
}

struct fuse_entry_param ToEntryParam(fuse_req_t req, const meta::Entry& entry) {
  const FuseOptions& o = ServerOf(req).options();
  struct fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = entry.ino;
  e.generation = 1;  // inode numbers are never reused (DESIGN.md §5)
  e.attr = ToStat(entry.ino, entry.attr, VolumeOf(req).block_size());
  e.attr_timeout = o.attr_timeout;
  e.entry_timeout = o.entry_timeout;
  return e;
}

void ReplyStatus(fuse_req_t req, const Status& s) {
  int err = s.ok() ? 0 : ToErrno(s);
  if (!s.ok() && err == 0) err = EIO;
  ReplyErr(req, err);
}

void ReplyErr(fuse_req_t req, int err) {
  if (err != 0) CountErrorReply(err);
  fuse_reply_err(req, err);
}

}  // namespace ops

const struct fuse_lowlevel_ops& LowLevelOps() {
  static const struct fuse_lowlevel_ops table = [] {
    struct fuse_lowlevel_ops t;
    std::memset(&t, 0, sizeof(t));
    ops::FillEntryOps(t);
    ops::FillFileOps(t);
    ops::FillDirOps(t);
    ops::FillXattrLockOps(t);
    return t;
  }();
  return table;
}

}  // namespace strata::fuse

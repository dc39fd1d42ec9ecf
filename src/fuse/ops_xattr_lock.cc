// FUSE callbacks of extended attributes and locks (flock, fcntl getlk/setlk with sleep).
#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "fuse/ops.h"

namespace strata::fuse::ops {
namespace {

void SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
              int flags) {
  Guarded(req, [&] {
    ReplyStatus(req, VolumeOf(req).SetXattr(ContextOf(req), ino, name,
                                            std::string(value, size), flags));
  });
}

// size 0 asks for the length only; a value longer than size is ERANGE.
void ReplySized(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (value.size() > size) {
    ReplyErr(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guarded(req, [&] {
    auto r = VolumeOf(req).GetXattr(ContextOf(req), ino, name);
    if (!r.ok()) return ReplyStatus(req, r.status());
    ReplySized(req, *r, size);
  });
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guarded(req, [&] {
    auto r = VolumeOf(req).ListXattr(ContextOf(req), ino);
    if (!r.ok()) return ReplyStatus(req, r.status());
    std::string all;
    for (const std::string& n : *r) {
      all += n;
      all.push_back('\0');
    }
    ReplySized(req, all, size);
  });
}

void RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Guarded(req, [&] { ReplyStatus(req, VolumeOf(req).RemoveXattr(ContextOf(req), ino, name)); });
}

meta::LockType ToLockType(short type) {
  switch (type) {
    case F_RDLCK: return meta::LockType::kRead;
    case F_WRLCK: return meta::LockType::kWrite;
    default: return meta::LockType::kUnlock;
  }
}

// struct flock (whence already resolved to SEEK_SET by the kernel) to an inclusive range.
meta::LockRange ToRange(const struct flock* lock) {
  meta::LockRange r;
  r.type = ToLockType(lock->l_type);
  r.start = static_cast<uint64_t>(lock->l_start);
  r.end = lock->l_len == 0 ? UINT64_MAX
                           : static_cast<uint64_t>(lock->l_start + lock->l_len - 1);
  r.pid = static_cast<uint32_t>(lock->l_pid);
  return r;
}

void GetLk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi, struct flock* lock) {
  Guarded(req, [&] {
    auto r = VolumeOf(req).GetLk(ContextOf(req), ino, fi->lock_owner, ToRange(lock));
    if (!r.ok()) return ReplyStatus(req, r.status());
    struct flock out = *lock;
    if (r->type == meta::LockType::kUnlock) {
      out.l_type = F_UNLCK;
    } else {
      out.l_type = r->type == meta::LockType::kRead ? F_RDLCK : F_WRLCK;
      out.l_whence = SEEK_SET;
      out.l_start = static_cast<off_t>(r->start);
      out.l_len = r->end == UINT64_MAX ? 0 : static_cast<off_t>(r->end - r->start + 1);
      out.l_pid = static_cast<pid_t>(r->pid);
    }
    fuse_reply_lock(req, &out);
  });
}

void SetLk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi, struct flock* lock,
           int sleep) {
  Guarded(req, [&] {
    meta::LockRange range = ToRange(lock);
    range.pid = static_cast<uint32_t>(fuse_req_ctx(req)->pid);
    ReplyStatus(req, VolumeOf(req).SetLk(ContextOf(req), ino, fi->fh, fi->lock_owner, range,
                                         sleep != 0, [req] { return fuse_req_interrupted(req) != 0; }));
  });
}

void Flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi, int op) {
  Guarded(req, [&] {
    meta::LockType type = meta::LockType::kUnlock;
    if (op & LOCK_SH) type = meta::LockType::kRead;
    if (op & LOCK_EX) type = meta::LockType::kWrite;
    bool block = (op & LOCK_NB) == 0;
    ReplyStatus(req, VolumeOf(req).Flock(ContextOf(req), ino, fi->fh, fi->lock_owner, type,
                                         block && type != meta::LockType::kUnlock,
                                         [req] { return fuse_req_interrupted(req) != 0; }));
  });
}

}  // namespace

void FillXattrLockOps(struct fuse_lowlevel_ops& t) {
  t.setxattr = SetXattr;
  t.getxattr = GetXattr;
  t.listxattr = ListXattr;
  t.removexattr = RemoveXattr;
  t.getlk = GetLk;
  t.setlk = SetLk;
  t.flock = Flock;
}

}  // namespace strata::fuse::ops

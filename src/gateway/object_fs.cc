#include "gateway/object_fs.h"

#include <fcntl.h>
#include <openssl/rand.h>

#include <cstdio>

#include "common/logging.h"

namespace strata::gateway {
namespace {

constexpr size_t kWritePiece = 1 << 20;
constexpr char kTmpDir[] = "tmp";
constexpr char kEtagXattr[] = "user.s3.etag";
constexpr char kXattrPrefix[] = "user.s3.";
constexpr char kMetaXattrPrefix[] = "user.s3.meta.";

std::string Validator(const Attr& a) {
  return std::to_string(a.mtime.sec) + "." + std::to_string(a.mtime.nsec) + " " +
         std::to_string(a.length);
}

}  // namespace

const std::vector<std::string>& StoredHeaders() {
  static const std::vector<std::string> kHeaders = {"cache-control", "content-disposition",
                                                    "content-encoding", "content-language",
                                                    "expires"};
  return kHeaders;
}

std::string RandomId() {
  unsigned char b[16];
  while (RAND_bytes(b, sizeof(b)) != 1) {
  }
  return Hex(std::string_view(reinterpret_cast<char*>(b), sizeof(b)));
}

Result<std::unique_ptr<ObjectFs>> ObjectFs::Open(vfs::Volume* volume, meta::Context ctx) {
  std::unique_ptr<ObjectFs> fs(new ObjectFs(volume, std::move(ctx)));
  if (volume->read_only()) {
    // A read-only gateway writes nothing: no upload directory (PUTs are refused anyway).
    auto e = volume->Lookup(fs->ctx_, meta::kRootIno, kUploadsDir);
    if (e.ok()) fs->uploads_ = e->ino;
    return fs;
  }
  ASSIGN_OR_RETURN(fs->uploads_, fs->EnsureDir(meta::kRootIno, kUploadsDir, 0700));
  ASSIGN_OR_RETURN(fs->tmp_, fs->EnsureDir(fs->uploads_, kTmpDir, 0700));
  return fs;
}

Result<Ino> ObjectFs::EnsureDir(Ino parent, const std::string& name, uint32_t mode) {
  auto e = vol_->Lookup(ctx_, parent, name);
  if (e.ok()) {
    if (e->attr.type != meta::FileType::kDirectory) {
      return Status(Code::kNotDir, name + " is not a directory");
    }
    return e->ino;
  }
  if (!e.status().Is(Code::kNotFound)) return e.status();
  auto made = vol_->Mkdir(ctx_, parent, name, mode);
  if (made.ok()) return made->ino;
  if (!made.status().Is(Code::kAlreadyExists)) return made.status();
  ASSIGN_OR_RETURN(auto again, vol_->Lookup(ctx_, parent, name));  // made by a racing request
  if (again.attr.type != meta::FileType::kDirectory) {
    return Status(Code::kNotDir, name + " is not a directory");
  }
  return again.ino;
}

Result<Ino> ObjectFs::Bucket(const std::string& name) {
  ASSIGN_OR_RETURN(auto e, vol_->Lookup(ctx_, meta::kRootIno, name));
  if (e.attr.type != meta::FileType::kDirectory) return Status::NotFound("not a bucket: " + name);
  return e.ino;
}

Result<std::vector<vfs::DirItem>> ObjectFs::ReadWholeDir(Ino dir) {
  ASSIGN_OR_RETURN(uint64_t fh, vol_->OpenDir(ctx_, dir));
  std::vector<vfs::DirItem> out;
  uint64_t off = 0;
  Status st;
  while (true) {
    auto page = vol_->ReadDir(ctx_, dir, fh, off, vfs::Volume::kDirPage, true);
    if (!page.ok()) {
      st = page.status();
      break;
    }
    if (page->empty()) break;
    for (auto& item : *page) {
      off = item.offset;
      if (item.name == "." || item.name == "..") continue;
      out.push_back(std::move(item));
    }
  }
  Status rel = vol_->ReleaseDir(dir, fh);
  if (!rel.ok()) LOG_WARN("gateway: releasing a directory handle: {}", rel.ToString());
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<ObjectFs::BucketInfo>> ObjectFs::ListBuckets() {
  ASSIGN_OR_RETURN(auto items, ReadWholeDir(meta::kRootIno));
  std::vector<BucketInfo> out;
  for (auto& item : items) {
    if (item.name.empty() || item.name[0] == '.' || item.type != meta::FileType::kDirectory) {
      continue;
    }
    out.push_back(BucketInfo{item.name, item.attr.value_or(Attr{})});
  }
  return out;
}

Status ObjectFs::CreateBucket(const std::string& name) {
  return vol_->Mkdir(ctx_, meta::kRootIno, name, 0755).status();
}

Status ObjectFs::DeleteBucket(const std::string& name) {
  return vol_->Rmdir(ctx_, meta::kRootIno, name);
}

Result<Ino> ObjectFs::LookupDir(Ino bucket, const std::vector<std::string>& dirs) {
  Ino cur = bucket;
  for (const std::string& d : dirs) {
    ASSIGN_OR_RETURN(auto e, vol_->Lookup(ctx_, cur, d));
    if (e.attr.type != meta::FileType::kDirectory) return Status(Code::kNotDir, d);
    cur = e.ino;
  }
  return cur;
}

Result<ObjectInfo> ObjectFs::LookupObject(Ino bucket, const KeyPath& key) {
  if (key.folder) return Status::NotFound(key.key);
  auto dir = LookupDir(bucket, key.dirs);
  if (!dir.ok()) {
    if (dir.status().Is(Code::kNotDir)) return Status::NotFound(key.key);
    return dir.status();
  }
  ASSIGN_OR_RETURN(auto e, vol_->Lookup(ctx_, *dir, key.name));
  if (e.attr.type != meta::FileType::kRegular) return Status::NotFound(key.key);
  return ObjectInfo{e.ino, e.attr};
}

Result<Ino> ObjectFs::MakeDirs(Ino bucket, const std::vector<std::string>& dirs) {
  Ino cur = bucket;
  for (const std::string& d : dirs) {
    ASSIGN_OR_RETURN(cur, EnsureDir(cur, d, 0755));
  }
  return cur;
}

Status ObjectFs::DeleteObject(Ino bucket, const KeyPath& key) {
  std::vector<Ino> chain = {bucket};
  for (const std::string& d : key.dirs) {
    auto e = vol_->Lookup(ctx_, chain.back(), d);
    if (!e.ok()) return e.status().Is(Code::kNotFound) ? Status::OK() : e.status();
    if (e->attr.type != meta::FileType::kDirectory) return Status::OK();
    chain.push_back(e->ino);
  }
  size_t keep = chain.size();  // directories [1, keep) may be removed when empty
  if (!key.folder) {
    Status s = vol_->Unlink(ctx_, chain.back(), key.name);
    if (s.Is(Code::kNotFound) || s.Is(Code::kIsDir)) return Status::OK();
    RETURN_IF_ERROR(s);
  }
  for (size_t i = keep - 1; i >= 1; --i) {
    Status s = vol_->Rmdir(ctx_, chain[i - 1], key.dirs[i - 1]);
    if (!s.ok()) break;  // not empty (or gone): it stays, and so do its parents
  }
  return Status::OK();
}

Result<uint64_t> ObjectFs::OpenRead(Ino ino) {
  ASSIGN_OR_RETURN(auto r, vol_->OpenFile(ctx_, ino, O_RDONLY));
  return r.fh;
}

Status ObjectFs::Read(Ino ino, uint64_t fh, uint64_t off, size_t len, std::string* out) {
  return vol_->Read(ctx_, ino, fh, off, len, out);
}

void ObjectFs::Release(Ino ino, uint64_t fh) {
  Status s = vol_->Release(ino, fh);
  if (!s.ok()) LOG_WARN("gateway: release of inode {}: {}", ino, s.ToString());
}

Result<TempFile> ObjectFs::CreateTemp(Ino dir, const std::string& name) {
  if (tmp_ == 0) return Status(Code::kReadOnly, "read-only volume");
  TempFile t;
  t.name = name.empty() ? RandomId() : name;
  ASSIGN_OR_RETURN(auto cr, vol_->Create(ctx_, dir == 0 ? tmp_ : dir, t.name, 0644,
                                         O_WRONLY | O_CREAT | O_EXCL));
  t.ino = cr.entry.ino;
  t.fh = cr.open.fh;
  t.open = true;
  t.parent = dir == 0 ? tmp_ : dir;
  return t;
}

Status ObjectFs::Append(TempFile& t, std::string_view data) {
  t.md5.Update(data);
  t.pending.append(data);
  if (t.pending.size() < kWritePiece) return Status::OK();
  std::string_view rest = t.pending;
  while (!rest.empty()) {
    ASSIGN_OR_RETURN(size_t n, vol_->Write(ctx_, t.ino, t.fh, t.size, rest));
    if (n == 0) return Status::IOError("short write");
    t.size += n;
    rest.remove_prefix(n);
  }
  t.pending.clear();
  return Status::OK();
}

Status ObjectFs::Close(TempFile& t) {
  std::string_view rest = t.pending;
  while (!rest.empty()) {
    ASSIGN_OR_RETURN(size_t n, vol_->Write(ctx_, t.ino, t.fh, t.size, rest));
    if (n == 0) return Status::IOError("short write");
    t.size += n;
    rest.remove_prefix(n);
  }
  t.pending.clear();
  Status flushed = vol_->Flush(ctx_, t.ino, t.fh, 0);
  Status released = vol_->Release(t.ino, t.fh);
  t.open = false;
  RETURN_IF_ERROR(flushed);
  return released;
}

void ObjectFs::Discard(TempFile& t) {
  if (t.ino == 0) return;
  if (t.open) {
    Status r = vol_->Release(t.ino, t.fh);
    if (!r.ok()) LOG_WARN("gateway: release of temp {}: {}", t.name, r.ToString());
    t.open = false;
  }
  Status s = vol_->Unlink(ctx_, t.parent, t.name);
  if (!s.ok() && !s.Is(Code::kNotFound)) {
    LOG_WARN("gateway: removing temp file {}: {}", t.name, s.ToString());
  }
  t.ino = 0;
}

Status ObjectFs::Commit(TempFile& t, Ino dir, const std::string& name) {
  RETURN_IF_ERROR(vol_->Rename(ctx_, t.parent, t.name, dir, name, 0));
  t.ino = 0;  // nothing left to discard
  return Status::OK();
}

Status ObjectFs::WriteMeta(Ino ino, const ObjectMeta& m) {
  if (!m.content_type.empty()) {
    RETURN_IF_ERROR(vol_->SetXattr(ctx_, ino, std::string(kXattrPrefix) + "content-type",
                                   m.content_type, 0));
  }
  for (const auto& [n, v] : m.headers) {
    RETURN_IF_ERROR(vol_->SetXattr(ctx_, ino, std::string(kXattrPrefix) + n, v, 0));
  }
  for (const auto& [n, v] : m.user) {
    RETURN_IF_ERROR(vol_->SetXattr(ctx_, ino, std::string(kMetaXattrPrefix) + n, v, 0));
  }
  return Status::OK();
}

Result<ObjectMeta> ObjectFs::ReadMeta(Ino ino) {
  ObjectMeta m;
  ASSIGN_OR_RETURN(auto names, vol_->ListXattr(ctx_, ino));
  for (const std::string& name : names) {
    if (name.rfind(kXattrPrefix, 0) != 0 || name == kEtagXattr) continue;
    auto v = vol_->GetXattr(ctx_, ino, name);
    if (!v.ok()) {
      if (v.status().Is(Code::kNoData)) continue;  // removed meanwhile
      return v.status();
    }
    if (name.rfind(kMetaXattrPrefix, 0) == 0) {
      m.user.emplace_back(name.substr(sizeof(kMetaXattrPrefix) - 1), *v);
    } else if (name == std::string(kXattrPrefix) + "content-type") {
      m.content_type = *v;
    } else {
      m.headers.emplace_back(name.substr(sizeof(kXattrPrefix) - 1), *v);
    }
  }
  return m;
}

Status ObjectFs::WriteEtag(Ino ino, const std::string& etag) {
  ASSIGN_OR_RETURN(Attr a, vol_->GetAttr(ctx_, ino));
  return vol_->SetXattr(ctx_, ino, kEtagXattr, etag + " " + Validator(a), 0);
}

Result<std::string> ObjectFs::Etag(Ino ino, const Attr& attr) {
  auto v = vol_->GetXattr(ctx_, ino, kEtagXattr);
  if (v.ok()) {
    size_t sp = v->find(' ');
    if (sp != std::string::npos && v->substr(sp + 1) == Validator(attr)) return v->substr(0, sp);
  } else if (!v.status().Is(Code::kNoData)) {
    return v.status();
  }
  // Written through a mount (or changed there since): the MD5 of what is there now.
  ASSIGN_OR_RETURN(std::string md5, Md5Of(ino, 0, attr.length));
  std::string etag = Hex(md5);
  auto now = vol_->GetAttr(ctx_, ino);
  if (now.ok() && Validator(*now) == Validator(attr) && !vol_->read_only()) {
    Status s = vol_->SetXattr(ctx_, ino, kEtagXattr, etag + " " + Validator(attr), 0);
    if (!s.ok()) LOG_DEBUG("gateway: caching the ETag of inode {}: {}", ino, s.ToString());
  }
  return etag;
}

Result<std::string> ObjectFs::Md5Of(Ino ino, uint64_t off, uint64_t len) {
  ASSIGN_OR_RETURN(uint64_t fh, OpenRead(ino));
  Digest md5 = Digest::Md5();
  std::string buf;
  Status st;
  uint64_t pos = off;
  const uint64_t end = off + len;
  while (pos < end) {
    st = vol_->Read(ctx_, ino, fh, pos, static_cast<size_t>(std::min<uint64_t>(4 << 20, end - pos)),
                    &buf);
    if (!st.ok()) break;
    if (buf.empty()) {
      st = Status::IOError("file shrank while it was read");
      break;
    }
    md5.Update(buf);
    pos += buf.size();
  }
  Release(ino, fh);
  RETURN_IF_ERROR(st);
  return md5.Final();
}

}  // namespace strata::gateway

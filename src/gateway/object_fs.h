// ObjectFs: the gateway's view of the volume as buckets and keys, over vfs::Volume (the same
// API the FUSE adapter uses, so what one front end writes the other sees at once). It owns
// nothing but the identity it acts as (a meta::Context, root by default) and the inode of
// the gateway's hidden directory `.s3-uploads` at the served root:
//
//   .s3-uploads/tmp/{random}          objects being PUT (renamed into place when complete)
//   .s3-uploads/{upload-id}/{part:05} multipart parts (multipart.h)
//
// Object metadata lives in xattrs of the file (docs/format/gateway-xattrs.md):
//   user.s3.etag          "{etag} {mtime_sec}.{mtime_nsec} {length}" — valid while the file's
//                         mtime and length are still these (content written through a mount
//                         changes both); else the MD5 is computed again and the xattr rewritten
//   user.s3.content-type, user.s3.cache-control, user.s3.content-disposition,
//   user.s3.content-encoding, user.s3.content-language, user.s3.expires
//   user.s3.meta.{name}   x-amz-meta-{name}
//
// Thread-safety: thread-safe (Volume is; ObjectFs keeps no mutable state after Init).
// Errors: the Volume's Status codes (kNotFound, kNotDir, kIsDir, ...), mapped to S3 errors by
// the handlers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/digest.h"
#include "gateway/http.h"
#include "gateway/keys.h"
#include "vfs/vfs.h"

namespace strata::gateway {

using meta::Attr;
using meta::Ino;

inline constexpr char kUploadsDir[] = ".s3-uploads";

struct ObjectMeta {
  std::string content_type;  // "" = binary/octet-stream when served
  Pairs headers;             // cache-control, content-disposition, ... (lower-case)
  Pairs user;                // x-amz-meta-NAME: {NAME, value}
};

// The standard headers kept with an object, besides Content-Type.
const std::vector<std::string>& StoredHeaders();

struct ObjectInfo {
  Ino ino = 0;
  Attr attr;
};

// A file being written under .s3-uploads/tmp: data is buffered in `buffer` up to 1 MiB per
// Write, MD5 is computed as it goes.
struct TempFile {
  Ino ino = 0;
  uint64_t fh = 0;
  Ino parent = 0;
  std::string name;
  uint64_t size = 0;
  std::string pending;
  Digest md5 = Digest::Md5();
  bool open = false;
};

class ObjectFs {
 public:
  // Creates .s3-uploads and .s3-uploads/tmp when missing (as `ctx`).
  static Result<std::unique_ptr<ObjectFs>> Open(vfs::Volume* volume, meta::Context ctx);

  vfs::Volume& volume() { return *vol_; }
  const meta::Context& ctx() const { return ctx_; }
  Ino uploads_dir() const { return uploads_; }

  // ---- Buckets: top-level directories of the served root.
  Result<Ino> Bucket(const std::string& name);  // kNotFound, kNotDir
  struct BucketInfo {
    std::string name;
    Attr attr;
  };
  Result<std::vector<BucketInfo>> ListBuckets();
  Status CreateBucket(const std::string& name);  // kAlreadyExists
  Status DeleteBucket(const std::string& name);  // kNotEmpty

  // ---- Names
  Result<Ino> LookupDir(Ino bucket, const std::vector<std::string>& dirs);
  // The regular file of a key (kNotFound for a missing one or a directory).
  Result<ObjectInfo> LookupObject(Ino bucket, const KeyPath& key);
  // mkdir -p of the key's directories; returns the innermost.
  Result<Ino> MakeDirs(Ino bucket, const std::vector<std::string>& dirs);
  // Every entry of a directory (all pages), with attributes.
  Result<std::vector<vfs::DirItem>> ReadWholeDir(Ino dir);
  // Removes the object; then its now-empty parent directories up to the bucket, as S3 has no
  // directories to leave behind. A missing key is OK (S3 semantics).
  Status DeleteObject(Ino bucket, const KeyPath& key);

  // ---- Data
  Result<uint64_t> OpenRead(Ino ino);
  Status Read(Ino ino, uint64_t fh, uint64_t off, size_t len, std::string* out);
  void Release(Ino ino, uint64_t fh);

  Result<TempFile> CreateTemp(Ino dir = 0, const std::string& name = "");  // dir 0: tmp dir
  Status Append(TempFile& t, std::string_view data);
  // Writes what is buffered, then close() (upload and commit) and release.
  Status Close(TempFile& t);
  // Releases (when open) and removes the temp file; errors are logged, not returned.
  void Discard(TempFile& t);
  // Renames the (closed) temp file to dir/name, replacing a file there.
  Status Commit(TempFile& t, Ino dir, const std::string& name);

  // ---- Object metadata (xattrs)
  Status WriteMeta(Ino ino, const ObjectMeta& m);
  Result<ObjectMeta> ReadMeta(Ino ino);
  // Records `etag` as valid for the file's current content (reads its attributes).
  Status WriteEtag(Ino ino, const std::string& etag);
  // The ETag of the file's content (no quotes): the recorded one while still valid, else the
  // MD5 of the content, computed now and recorded.
  Result<std::string> Etag(Ino ino, const Attr& attr);
  // MD5 (binary) of [off, off+len) of a file.
  Result<std::string> Md5Of(Ino ino, uint64_t off, uint64_t len);

 private:
  ObjectFs(vfs::Volume* v, meta::Context ctx) : vol_(v), ctx_(std::move(ctx)) {}
  Result<Ino> EnsureDir(Ino parent, const std::string& name, uint32_t mode);

  vfs::Volume* const vol_;
  const meta::Context ctx_;
  Ino uploads_ = 0;
  Ino tmp_ = 0;
};

// 32 hex characters from a CSPRNG: temp names and upload ids.
std::string RandomId();

}  // namespace strata::gateway

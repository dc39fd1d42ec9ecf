// ObjectStore: the one interface to every place file data can live (S3-compatible services,
// a local directory, memory). Blocks written by the data path are immutable; the interface
// still offers the general S3 surface (ranged reads, listing, multipart) so that tools
// (objbench, gc, the conformance suite) work the same on every backend.
//
// Behaviour beyond a plain backend (retries, key prefix, metrics, injected faults, checksums,
// compression) is added by wrappers deriving from ObjectStoreWrapper, as LevelDB's EnvWrapper.
//
// Thread-safety: every implementation is safe to call from many threads at once.
// Errors: kNotFound for a missing key or upload, kPermissionDenied for 403/EACCES,
// kUnavailable/kTimeout for what a retry may fix (503 SlowDown, connection reset, timeouts),
// kNoSpace for a full disk, kInvalidArgument for bad input, kIOError otherwise.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/block_buffer.h"
#include "common/status.h"

namespace strata::object {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_ns = 0;  // last modification, ns since the epoch (0 when unknown)
  std::string etag;      // backend-specific; may be empty
};

struct ListOptions {
  std::string prefix;        // only keys starting with this
  std::string start_after;   // only keys strictly greater than this
  std::string delimiter;     // when set, keys with it after `prefix` roll up into common_prefixes
  int limit = 1000;          // at most this many keys + common prefixes per page (1..1000)
  std::string continuation;  // token from a previous truncated page; "" for the first page
};

struct ListResult {
  std::vector<ObjectInfo> objects;           // in ascending byte order of key
  std::vector<std::string> common_prefixes;  // in ascending byte order
  bool truncated = false;                    // more pages follow
  std::string next_continuation;             // pass back as ListOptions::continuation
};

struct PutOptions {
  // Durability level (DESIGN.md §6). false: the object survives a crash of this process once
  // Put returns (a renamed file, an acknowledged S3 PUT). true: it also survives power loss of
  // the machine holding the store (file:// fsyncs the file and its directory).
  bool sync = false;
  // User metadata (S3 x-amz-meta-*); backends without metadata support may ignore it.
  std::map<std::string, std::string> metadata;
};

struct PartInfo {
  int number = 0;  // 1..10000
  std::string etag;
  uint64_t size = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // A description for logs and errors, e.g. "s3://bucket (http://127.0.0.1:9000)".
  // Never contains secrets.
  virtual std::string Describe() const = 0;

  // Reads bytes [off, off+len) of `key`; len < 0 means to the end. A range past the end is
  // clipped: reading at or beyond the size returns an empty string, not an error.
  virtual Result<std::string> Get(const std::string& key, uint64_t off = 0, int64_t len = -1) = 0;

  // The whole body of `key` (Get(key) in other words) in a BlockBuffer: for the block path,
  // which reads whole blocks and decodes them in place (a std::string is zero-filled before a
  // read overwrites it: one more pass over every 4 MiB block). Hence not pure, like PutParts:
  // the default adopts this store's own Get's string, without a copy, which is right for
  // every store. file:// overrides it (the file read straight into the buffer); the wrappers
  // on the block path (retry, metrics, prefix) forward it; any other wrapper gets the
  // default, so its Get is never bypassed.
  virtual Result<BlockBuffer> GetBuffer(const std::string& key) {
    ASSIGN_OR_RETURN(std::string body, Get(key, 0, -1));
    return BlockBuffer::Adopt(std::move(body));
  }

  // Creates or replaces `key` atomically: readers see the old or the new body, never a part.
  virtual Status Put(const std::string& key, std::string_view data,
                     const PutOptions& opts = {}) = 0;

  // Put of the concatenation of `parts`, which the store may write without joining them
  // first (file://: one write per part). Same contract as Put. For the block path (a block
  // and its 16-byte trailer: joining them copied every 4 MiB block once more), hence not
  // pure: the default joins the parts and calls this store's own Put, which is right for
  // every store. file:// overrides it; the wrappers on the block path (retry, metrics,
  // prefix) forward it; any other wrapper gets the default, so its Put is never bypassed.
  virtual Status PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                          const PutOptions& opts = {}) {
    size_t n = 0;
    for (std::string_view p : parts) n += p.size();
    std::string joined;
    joined.reserve(n);
    for (std::string_view p : parts) joined.append(p);
    return Put(key, joined, opts);
  }

  virtual Result<ObjectInfo> Head(const std::string& key) = 0;

  // Deletes `key`. Deleting a missing key succeeds (S3 semantics).
  virtual Status Delete(const std::string& key) = 0;

  // One page of keys in ascending byte order; see ListOptions.
  virtual Result<ListResult> List(const ListOptions& opts) = 0;

  // Multipart upload, for objects larger than one Put should carry. Parts are numbered from 1;
  // every part but the last must be at least 5 MiB on S3.
  virtual Result<std::string> CreateMultipart(const std::string& key) = 0;  // -> upload id
  virtual Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                         int part_number, std::string_view data) = 0;  // -> etag
  virtual Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                                   const std::vector<PartInfo>& parts) = 0;
  virtual Status AbortMultipart(const std::string& key, const std::string& upload_id) = 0;
  virtual Result<std::vector<PartInfo>> ListParts(const std::string& key,
                                                  const std::string& upload_id) = 0;

  // Makes objects already stored (by Puts without PutOptions::sync) durable against power
  // loss, as if each had been Put with sync: the second level of DESIGN.md §6 for data that
  // reached the store at the first. Covers the body each key holds when Sync is called; a Put
  // racing with it may or may not be covered. A key that does not exist (deleted meanwhile)
  // is skipped: a deleted object needs no durability. Returns the first error; keys after a
  // failed one may or may not have been made durable, so a caller retries them all.
  // Added after the first version of this interface, hence not pure: the default returns OK,
  // which is right for every store whose Put is durable when it returns (S3 and other HTTP
  // stores, whose PUT acknowledges durable storage) and for mem:// (nothing survives a
  // process crash anyway). Stores that buffer unsynced Puts (file://) override it; wrappers
  // forward it (ObjectStoreWrapper).
  virtual Status Sync(const std::vector<std::string>& keys) {
    (void)keys;
    return Status::OK();
  }
};

// Forwards every call to a target it does not own exclusively (shared_ptr). Wrappers override
// only what they change.
class ObjectStoreWrapper : public ObjectStore {
 public:
  explicit ObjectStoreWrapper(std::shared_ptr<ObjectStore> target) : target_(std::move(target)) {}
  std::string Describe() const override { return target_->Describe(); }
  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override {
    return target_->Get(key, off, len);
  }
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override {
    return target_->Put(key, data, opts);
  }
  Result<ObjectInfo> Head(const std::string& key) override { return target_->Head(key); }
  Status Delete(const std::string& key) override { return target_->Delete(key); }
  Result<ListResult> List(const ListOptions& opts) override { return target_->List(opts); }
  Result<std::string> CreateMultipart(const std::string& key) override {
    return target_->CreateMultipart(key);
  }
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, std::string_view data) override {
    return target_->UploadPart(key, upload_id, part_number, data);
  }
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<PartInfo>& parts) override {
    return target_->CompleteMultipart(key, upload_id, parts);
  }
  Status AbortMultipart(const std::string& key, const std::string& upload_id) override {
    return target_->AbortMultipart(key, upload_id);
  }
  Result<std::vector<PartInfo>> ListParts(const std::string& key,
                                          const std::string& upload_id) override {
    return target_->ListParts(key, upload_id);
  }
  Status Sync(const std::vector<std::string>& keys) override { return target_->Sync(keys); }

 protected:
  ObjectStore* target() const { return target_.get(); }

 private:
  std::shared_ptr<ObjectStore> target_;
};

}  // namespace strata::object

// MemStore: the mem:// backend, an object store held in process memory. For tests and
// benchmarks that must not touch a disk or a server; contents die with the process.
//
// URLs: "mem://" opens a fresh, empty store each time. "mem://NAME" opens the store named
// NAME: every Open of the same name through the same StoreRegistry returns the same instance
// (the registry keeps it alive), so two components of one process can share data, as two
// mounts of one volume would. Names are not shared between registries or processes.
//
// Semantics match S3: Put replaces atomically, Get clips ranges, Delete of a missing key
// succeeds, List pages in key order, multipart parts are kept until Complete/Abort. Part
// sizes are not checked (S3 wants >= 5 MiB for all but the last).
//
// Thread-safety: all methods may be called concurrently (one shared_mutex; bodies are
// immutable shared buffers, so a Get copies its range outside the lock).
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

#include "object/object_store.h"

namespace strata::object {

class MemStore : public ObjectStore {
 public:
  // `name` is used only in Describe().
  static std::unique_ptr<MemStore> Open(std::string name = "");

  std::string Describe() const override;
  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override;
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<ListResult> List(const ListOptions& opts) override;
  Result<std::string> CreateMultipart(const std::string& key) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, std::string_view data) override;
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<PartInfo>& parts) override;
  Status AbortMultipart(const std::string& key, const std::string& upload_id) override;
  Result<std::vector<PartInfo>> ListParts(const std::string& key,
                                          const std::string& upload_id) override;

 private:
  struct Object {
    std::shared_ptr<const std::string> body;
    int64_t mtime_ns = 0;
    std::string etag;
  };
  struct Upload {
    std::string key;
    std::map<int, Object> parts;
  };
  class Cursor;

  explicit MemStore(std::string name) : name_(std::move(name)) {}
  Status StoreObject(const std::string& key, std::string body);
  // REQUIRES: mu_ held. kNotFound unless the upload exists and belongs to `key`.
  Result<Upload*> FindUpload(const std::string& key, const std::string& upload_id);

  const std::string name_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Object> objects_;  // guarded by mu_
  std::map<std::string, Upload> uploads_;  // guarded by mu_
  uint64_t next_upload_ = 1;               // guarded by mu_
};

}  // namespace strata::object

// ObjectEndpoint: a sync endpoint over an ObjectStore (any URL of the store registry: file://,
// s3://, http(s)://, mem://). Items are the store's keys as regular files (keys ending in '/'
// are directory markers and skipped); the listing is the store's, page by page (memory: one
// page, whatever the number of keys). Writes are one PUT up to 64 MiB, multipart above (parts
// of 16 MiB, aborted when not committed). No attributes.
//
// Thread-safety: as the store (thread-safe). Errors: the store's, with the key.
#pragma once

#include <memory>
#include <string>

#include "object/object_store.h"
#include "sync/endpoint.h"

namespace strata::sync {

class ObjectEndpoint : public Endpoint {
 public:
  explicit ObjectEndpoint(std::shared_ptr<object::ObjectStore> store) : store_(std::move(store)) {}
  std::string Describe() const override { return store_->Describe(); }
  bool has_attributes() const override { return false; }
  Status List(const std::function<Status(const Item&)>& fn) override;
  Result<std::unique_ptr<FileReader>> OpenRead(const Item& item) override;
  Result<std::unique_ptr<FileWriter>> OpenWrite(const std::string& path, const Item& src) override;
  Status Delete(const std::string& path) override;

 private:
  std::shared_ptr<object::ObjectStore> store_;
};

}  // namespace strata::sync

// PrefixStore: confines a store to the keys under one prefix, normally the volume name plus
// '/' (DESIGN.md §4: every object of volume NAME lives under "NAME/"). Callers see keys
// without the prefix (every key argument, Sync's list included, gets the prefix added); List()
// strips it from keys and common prefixes, so several volumes can share one bucket or
// directory without seeing each other.
//
// Continuation tokens are passed through unchanged (they are the target's own).
// Thread-safety: as the target store. Errors: the target's, plus kInvalidArgument for an
// empty prefix.
#pragma once

#include <memory>
#include <string>

#include "object/object_store.h"

namespace strata::object {

class PrefixStore : public ObjectStoreWrapper {
 public:
  // `prefix` is used as given; for a volume pass "NAME/".
  static Result<std::unique_ptr<PrefixStore>> Open(std::shared_ptr<ObjectStore> target,
                                                   std::string prefix);
  // The usual case: prefix = volume + "/".
  static Result<std::unique_ptr<PrefixStore>> ForVolume(std::shared_ptr<ObjectStore> target,
                                                        const std::string& volume);

  std::string Describe() const override;
  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override;
  Result<BlockBuffer> GetBuffer(const std::string& key) override;
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override;
  Status PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                  const PutOptions& opts) override;
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
  Status Sync(const std::vector<std::string>& keys) override;

  const std::string& prefix() const { return prefix_; }

 private:
  PrefixStore(std::shared_ptr<ObjectStore> target, std::string prefix)
      : ObjectStoreWrapper(std::move(target)), prefix_(std::move(prefix)) {}
  std::string Full(const std::string& key) const { return prefix_ + key; }

  const std::string prefix_;
};

}  // namespace strata::object

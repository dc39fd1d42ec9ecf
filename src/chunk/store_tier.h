// StoreTier: the object store as the last tier of the block chain (cache/block_tier.h), and
// the chain's write target until writeback puts its staging tier there. It is where the block
// codec (block_codec.h) meets the store: Write encodes (compression, CRC32C trailer) and PUTs;
// Get GETs the whole body and decodes it, which verifies the trailer and the checksum;
// GetRange, offered only for uncompressed volumes, is a ranged GET of just the bytes asked
// for (with codec kNone the payload is the plain block from byte 0; a range cannot be
// verified, full reads are).
//
// Ownership: the store is shared; the tier is owned by ChunkStore.
// Thread-safety: every method may be called from any thread concurrently.
// Errors: the store's Status with the key as context: kNotFound when the object is missing (a
// miss to the chain, which reports it as "block KEY is in no tier"), kUnavailable/kTimeout
// (retryable), kNoSpace, kPermissionDenied, kIOError (also a short ranged read); kCorruption
// when a body fails its checksum or cannot be decoded. Put (a fill) is kNotSupported: blocks
// reach the store through Write.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/block_tier.h"
#include "chunk/block_codec.h"
#include "common/status.h"
#include "object/object_store.h"

namespace strata::chunk {

class StoreTier : public cache::BlockTier {
 public:
  // `compression`: the volume's (what Write may use; GetRange is offered only for kNone).
  StoreTier(std::shared_ptr<object::ObjectStore> store, Compression compression)
      : store_(std::move(store)), compression_(compression) {}

  std::string_view Name() const override { return "store"; }
  Result<cache::BlockData> Get(const std::string& key, uint32_t expected_len) override;
  bool ServesRanges() const override { return compression_ == Compression::kNone; }
  Result<std::string> GetRange(const std::string& key, uint32_t block_len, uint32_t off,
                               uint32_t len) override;
  bool WantsFill() const override { return false; }
  Status Put(const std::string& key, cache::BlockData data) override;
  bool Contains(const std::string& key) override;
  // Deletes the object; a missing one is fine (deletion is idempotent).
  Status Remove(const std::string& key) override;
  // Encodes and PUTs; sync maps to PutOptions::sync. The origin is not needed here.
  Status Write(const std::string& key, std::string_view plain, bool sync,
               const cache::BlockOrigin& origin) override;
  // EncodeBlock with the volume's compression; WriteBody PUTs such a body as it is.
  std::string EncodeBody(std::string_view plain) const override;
  Status WriteBody(const std::string& key, std::string_view body, bool sync,
                   const cache::BlockOrigin& origin) override;
  // ObjectStore::Sync (file:// fsyncs each file and its directory; others need nothing).
  Status Sync(const std::vector<std::string>& keys) override;

  object::ObjectStore* store() const { return store_.get(); }

 private:
  std::shared_ptr<object::ObjectStore> store_;
  const Compression compression_;
};

}  // namespace strata::chunk

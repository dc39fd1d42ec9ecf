#include "chunk/store_tier.h"

#include "common/logging.h"

namespace strata::chunk {

namespace {

// A body that fails its checksum may be a short or damaged transfer rather than a damaged
// object (a proxy cutting a response short, a flaky link): it is fetched again this many
// times before the block is reported corrupt.
constexpr int kRereads = 2;

}  // namespace

Result<cache::BlockData> StoreTier::Get(const std::string& key, uint32_t expected_len) {
  Status bad;
  for (int attempt = 0; attempt <= kRereads; ++attempt) {
    auto body = store_->GetBuffer(key);  // file://: not zero-filled before the read
    if (!body.ok()) return body.status().WithContext("download " + key);
    Status decoded = DecodeBlockInPlace(&*body, expected_len);
    if (decoded.ok()) return BlockBuffer::Share(std::move(*body));
    const size_t received = body->size();
    bad = decoded.WithContext("block " + key);
    if (attempt < kRereads) {
      LOG_WARN_EVERY("{} ({} bytes received); fetching it again", bad.ToString(), received);
    }
  }
  return bad;
}

Result<std::string> StoreTier::GetRange(const std::string& key, uint32_t block_len, uint32_t off,
                                        uint32_t len) {
  if (!ServesRanges()) return BlockTier::GetRange(key, block_len, off, len);
  // Uncompressed volume: the payload is the plain block from byte 0 (block_codec.h).
  for (int attempt = 0;; ++attempt) {
    auto part = store_->Get(key, off, len);
    if (!part.ok()) return part.status().WithContext("download " + key);
    if (part->size() == len || attempt == kRereads) return std::move(*part);  // chain checks
    LOG_WARN_EVERY("short read of {} [{}, +{}): {} bytes; fetching it again", key, off, len,
                   part->size());
  }
}

Status StoreTier::Put(const std::string& key, cache::BlockData data) {
  (void)data;
  return Status::NotSupported("the store tier takes no fills (blocks reach it by Write): " + key);
}

bool StoreTier::Contains(const std::string& key) {
  (void)key;
  return false;  // only a HEAD could tell: not a cheap check
}

Status StoreTier::Remove(const std::string& key) {
  Status st = store_->Delete(key);
  if (!st.ok() && !st.Is(Code::kNotFound)) return st.WithContext("delete " + key);
  return Status::OK();
}

Status StoreTier::Write(const std::string& key, std::string_view plain, bool sync,
                        const cache::BlockOrigin& origin) {
  (void)origin;
  // Payload and trailer go to the store as two parts: no joined copy of the block.
  std::string compressed;
  const std::string trailer = EncodeBlockParts(plain, compression_, &compressed);
  const std::string_view payload = compressed.empty() ? plain : std::string_view(compressed);
  object::PutOptions opts;
  opts.sync = sync;
  Status st = store_->PutParts(key, {payload, trailer}, opts);
  if (!st.ok()) return st.WithContext("upload " + key);
  return Status::OK();
}

std::string StoreTier::EncodeBody(std::string_view plain) const {
  return EncodeBlock(plain, compression_);
}

Status StoreTier::WriteBody(const std::string& key, std::string_view body, bool sync,
                            const cache::BlockOrigin& origin) {
  (void)origin;
  object::PutOptions opts;
  opts.sync = sync;
  Status st = store_->Put(key, body, opts);
  if (!st.ok()) return st.WithContext("upload " + key);
  return Status::OK();
}

Status StoreTier::Sync(const std::vector<std::string>& keys) { return store_->Sync(keys); }

}  // namespace strata::chunk

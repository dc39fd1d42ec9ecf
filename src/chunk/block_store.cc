#include "chunk/block_store.h"

#include "chunk/block_key.h"
#include "fmt/format.h"

namespace strata::chunk {

Status BlockStoreOptions::Validate() const {
  if (block_size < (64u << 10) || block_size > (16u << 20)) {
    return Status::InvalidArgument(
        fmt::format("block size {} is outside 64 KiB .. 16 MiB", block_size));
  }
  if (!key_prefix.empty() && key_prefix.back() != '/') {
    return Status::InvalidArgument("key prefix must be empty or end with '/'");
  }
  return Status::OK();
}

struct BlockStore::Inflight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  std::shared_ptr<const std::string> data;
};

BlockStore::BlockStore(std::shared_ptr<object::ObjectStore> store, cache::BlockCache* cache,
                       const BlockStoreOptions& options)
    : store_(std::move(store)), cache_(cache), options_(options) {}

Status BlockStore::PutBlock(uint64_t slice_id, uint32_t index, std::string_view plain,
                            bool sync) {
  std::string key =
      BlockKey(options_.key_prefix, slice_id, index, static_cast<uint32_t>(plain.size()));
  std::string body = EncodeBlock(plain, options_.compression);
  object::PutOptions opts;
  opts.sync = sync;
  Status st = store_->Put(key, body, opts);
  if (!st.ok()) return st.WithContext("upload " + key);
  if (cache_ && options_.cache_written_blocks) cache_->Put(key, plain);
  return Status::OK();
}

Result<std::shared_ptr<const std::string>> BlockStore::FetchWhole(const std::string& key,
                                                                  uint32_t len) {
  if (cache_) {
    if (auto hit = cache_->Get(key)) {
      if (hit->size() == len) return hit;
      cache_->Remove(key);  // a cache entry of the wrong size is as bad as a corrupt one
    }
  }
  std::shared_ptr<Inflight> flight;
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    auto it = inflight_.find(key);
    if (it == inflight_.end()) {
      flight = std::make_shared<Inflight>();
      inflight_.emplace(key, flight);
      leader = true;
    } else {
      flight = it->second;
    }
  }
  if (!leader) {
    std::unique_lock lock(flight->mu);
    flight->cv.wait(lock, [&] { return flight->done; });
    if (!flight->status.ok()) return flight->status;
    return flight->data;
  }
  Status status;
  std::shared_ptr<const std::string> data;
  // A fetch that finished between our cache miss and our registration left the block in the
  // cache (it caches before it unregisters): look again rather than GET it a second time.
  if (cache_) {
    if (auto hit = cache_->Get(key); hit && hit->size() == len) data = hit;
  }
  if (!data) {
    auto body = store_->Get(key, 0, -1);
    if (!body.ok()) {
      status = body.status().WithContext("download " + key);
    } else {
      auto plain = DecodeBlock(*body, len);
      if (!plain.ok()) {
        status = plain.status().WithContext("block " + key);
      } else {
        data = std::make_shared<const std::string>(std::move(*plain));
        if (cache_) cache_->Put(key, data);
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    inflight_.erase(key);
  }
  {
    std::lock_guard lock(flight->mu);
    flight->done = true;
    flight->status = status;
    flight->data = data;
  }
  flight->cv.notify_all();
  if (!status.ok()) return status;
  return data;
}

bool BlockStore::InFlight(const std::string& key) {
  std::lock_guard lock(mu_);
  return inflight_.count(key) != 0;
}

Result<std::string> BlockStore::ReadBlock(uint64_t slice_id, uint32_t index, uint32_t block_len,
                                          uint32_t off, uint32_t len, bool fill_cache) {
  if (static_cast<uint64_t>(off) + len > block_len) {
    return Status::InvalidArgument("read beyond the end of a block");
  }
  std::string key = BlockKey(options_.key_prefix, slice_id, index, block_len);
  bool partial = off != 0 || len != block_len;
  if (partial && !fill_cache && options_.compression == Compression::kNone) {
    if (cache_) {
      if (auto hit = cache_->Get(key); hit && hit->size() == block_len) {
        return hit->substr(off, len);
      }
    }
    // The whole block is being downloaded already (readahead): wait for that GET rather than
    // send a second, ranged one for part of the same bytes.
    if (InFlight(key)) {
      ASSIGN_OR_RETURN(auto whole, FetchWhole(key, block_len));
      return whole->substr(off, len);
    }
    // Uncompressed volume: the payload is the plain block from byte 0 (block_codec.h).
    auto part = store_->Get(key, off, len);
    if (!part.ok()) return part.status().WithContext("download " + key);
    if (part->size() != len) {
      return Status::IOError(
          fmt::format("short read of {}: {} of {} bytes", key, part->size(), len));
    }
    return std::move(*part);
  }
  ASSIGN_OR_RETURN(auto whole, FetchWhole(key, block_len));
  if (!partial) return *whole;
  return whole->substr(off, len);
}

Status BlockStore::Prefetch(uint64_t slice_id, uint32_t index, uint32_t block_len) {
  std::string key = BlockKey(options_.key_prefix, slice_id, index, block_len);
  if (cache_ && cache_->Contains(key)) return Status::OK();
  // Someone is fetching it already: do not hold a download thread just to wait for that.
  if (InFlight(key)) return Status::OK();
  return FetchWhole(key, block_len).status();
}

Status BlockStore::SyncBlocks(const std::vector<std::string>& keys) {
  if (!options_.puts_need_sync || keys.empty()) return Status::OK();
  Status st = store_->Sync(keys);  // skips keys deleted meanwhile: nothing to keep
  if (!st.ok()) return st.WithContext(fmt::format("sync {} blocks", keys.size()));
  return Status::OK();
}

Status BlockStore::DeleteSlice(uint64_t slice_id, uint64_t slice_size) {
  Status first;
  for (const auto& key :
       SliceBlockKeys(options_.key_prefix, slice_id, slice_size, options_.block_size)) {
    if (cache_) cache_->Remove(key);
    Status st = store_->Delete(key);
    if (!st.ok() && !st.Is(Code::kNotFound) && first.ok()) first = st.WithContext("delete " + key);
  }
  return first;
}

}  // namespace strata::chunk

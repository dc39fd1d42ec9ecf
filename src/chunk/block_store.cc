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

Status BlockStore::PutBlock(uint64_t slice_id, uint32_t index, std::string_view plain,
                            bool sync, const cache::BlockOrigin& origin) {
  std::string key =
      BlockKey(options_.key_prefix, slice_id, index, static_cast<uint32_t>(plain.size()));
  return tiers_->Write(key, plain, sync, options_.cache_written_blocks, origin);
}

Status BlockStore::PutBlock(uint64_t slice_id, uint32_t index, const cache::BlockData& data,
                            bool sync, const cache::BlockOrigin& origin) {
  std::string key =
      BlockKey(options_.key_prefix, slice_id, index, static_cast<uint32_t>(data->size()));
  return tiers_->Write(key, data, sync, options_.cache_written_blocks, origin);
}

Result<std::string> BlockStore::ReadBlock(uint64_t slice_id, uint32_t index, uint32_t block_len,
                                          uint32_t off, uint32_t len, bool fill_cache) {
  ASSIGN_OR_RETURN(Part part, ReadBlockPart(slice_id, index, block_len, off, len, fill_cache));
  return std::string(part.data->view().substr(part.off, len));
}

Result<BlockStore::Part> BlockStore::ReadBlockPart(uint64_t slice_id, uint32_t index,
                                                   uint32_t block_len, uint32_t off, uint32_t len,
                                                   bool fill_cache) {
  if (static_cast<uint64_t>(off) + len > block_len) {
    return Status::InvalidArgument("read beyond the end of a block");
  }
  std::string key = BlockKey(options_.key_prefix, slice_id, index, block_len);
  bool partial = off != 0 || len != block_len;
  if (partial && !fill_cache) {
    ASSIGN_OR_RETURN(std::string range, tiers_->GetRange(key, block_len, off, len));
    return Part{BlockBuffer::Share(BlockBuffer::Adopt(std::move(range))), 0};
  }
  ASSIGN_OR_RETURN(auto whole, tiers_->Get(key, block_len));
  return Part{std::move(whole), off};
}

Status BlockStore::Prefetch(uint64_t slice_id, uint32_t index, uint32_t block_len) {
  return tiers_->Prefetch(BlockKey(options_.key_prefix, slice_id, index, block_len), block_len);
}

Status BlockStore::ReadAhead(uint64_t slice_id, uint32_t index, uint32_t block_len) {
  return tiers_->ReadAhead(BlockKey(options_.key_prefix, slice_id, index, block_len), block_len);
}

Status BlockStore::SyncBlocks(const std::vector<std::string>& keys) {
  if (!options_.puts_need_sync || keys.empty()) return Status::OK();
  Status st = tiers_->Sync(keys);  // skips keys deleted meanwhile: nothing to keep
  if (!st.ok()) return st.WithContext(fmt::format("sync {} blocks", keys.size()));
  return Status::OK();
}

Status BlockStore::DeleteSlice(uint64_t slice_id, uint64_t slice_size) {
  Status first;
  for (const auto& key :
       SliceBlockKeys(options_.key_prefix, slice_id, slice_size, options_.block_size)) {
    Status st = tiers_->Remove(key);  // a missing block is fine (the tiers say OK)
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

}  // namespace strata::chunk

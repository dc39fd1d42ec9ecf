#include "cli/volume_scan.h"

#include <cstdio>

#include "chunk/block_codec.h"
#include "chunk/chunk_store.h"
#include "cli/meta_open.h"
#include "fmt/format.h"

namespace strata::cli {

Result<ToolVolume> OpenToolVolume(const client::Registries& registries, const std::string& meta_url,
                                  bool write) {
  RETURN_IF_ERROR(CheckMetaUrl(registries, meta_url));
  if (MetaDatabaseMissing(meta_url)) {
    return Status::NotFound("volume is not formatted (no database at " + meta_url + ")");
  }
  client::ClientOptions co;
  co.meta_url = meta_url;
  co.volume.read_only = !write;
  co.background_jobs = false;
  co.cache.memory_size = 0;  // a tool reads each block at most once
  ToolVolume v;
  ASSIGN_OR_RETURN(v.client, client::Client::Open(registries, co));
  v.store = v.client->store();
  v.block_prefix = v.client->volume().name() + "/";
  return v;
}

namespace {

Status ListAll(object::ObjectStore& store, const std::string& list_prefix,
               const std::string& block_prefix, const ChunkObjectVisitor& fn) {
  object::ListOptions lo;
  lo.prefix = list_prefix;
  lo.limit = 1000;
  while (true) {
    ASSIGN_OR_RETURN(auto page, store.List(lo));
    for (const auto& info : page.objects) {
      auto parts = chunk::ParseBlockKey(block_prefix, info.key);
      RETURN_IF_ERROR(
          fn(info, parts.ok() ? std::optional<chunk::BlockKeyParts>(*parts) : std::nullopt));
    }
    if (!page.truncated || page.objects.empty()) return Status::OK();
    lo.continuation = page.next_continuation;
    if (lo.continuation.empty()) lo.start_after = page.objects.back().key;
  }
}

}  // namespace

Status ForEachChunkObject(object::ObjectStore& store, const std::string& prefix,
                          const ChunkObjectVisitor& fn) {
  return ListAll(store, chunk::ChunksPrefix(prefix), prefix, fn);
}

Status ForEachSliceObject(object::ObjectStore& store, const std::string& prefix, uint64_t id,
                          const ChunkObjectVisitor& fn) {
  // Block keys of one slice share "{dirs}/{id}_"; the '_' keeps id 12 from matching 123.
  std::string first = chunk::BlockKey(prefix, id, 0, 0);
  first.resize(first.rfind('/') + 1);
  return ListAll(store, first + std::to_string(id) + "_", prefix, fn);
}

bool IsBlockOf(const meta::scan::SliceTable::Entry& e, const chunk::BlockKeyParts& parts,
               uint32_t block_size) {
  return parts.slice_id == e.id && parts.index < chunk::NumBlocks(e.size, block_size) &&
         parts.len == chunk::BlockLen(e.size, block_size, parts.index);
}

bool StoredSizeOk(uint64_t stored, uint32_t plain_len, bool compressed) {
  const uint64_t plain = static_cast<uint64_t>(plain_len) + chunk::kBlockTrailerSize;
  return compressed ? stored > chunk::kBlockTrailerSize && stored <= plain : stored == plain;
}

}  // namespace strata::cli

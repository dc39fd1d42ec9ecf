// What `strata fsck` and `strata gc` share: opening a volume as a tool (through the
// composition root, without background jobs or caches) and listing its block objects once,
// in key order, matched against the slices the metadata references.
//
// Ownership: OpenToolVolume's caller owns the ToolVolume (client and store).
// Thread-safety: plain functions; the Client and the store are thread-safe (client.h).
// Errors: OpenToolVolume returns the composition root's errors (kInvalidArgument for a bad
// URL, kNotFound "volume is not formatted", kUnavailable for an unreachable engine or store);
// the listing returns the store's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "chunk/block_key.h"
#include "client/builtins.h"
#include "client/client.h"
#include "common/status.h"
#include "meta/scan.h"
#include "object/object_store.h"

namespace strata::cli {

// A volume opened for a tool. `store` is the client's store stack as the data path uses it
// (backend -> metrics -> retries with the client's --io-timeout / --io-retries budget).
struct ToolVolume {
  std::unique_ptr<client::Client> client;
  std::shared_ptr<object::ObjectStore> store;
  std::string block_prefix;  // "NAME/": the key prefix of the volume's blocks
};

// Opens META_URL for a tool: read-only unless `write`, no background jobs, no memory cache.
// Refuses (kNotFound, writing nothing) an sqlite3:// database file that does not exist.
Result<ToolVolume> OpenToolVolume(const client::Registries& registries, const std::string& meta_url,
                                  bool write);

// Lists every object under "{prefix}chunks/" once, in key order, page by page (memory: one
// page). `parts` is the parsed block key, nullopt for a key that is not a block key.
using ChunkObjectVisitor = std::function<Status(const object::ObjectInfo& info,
                                                const std::optional<chunk::BlockKeyParts>& parts)>;
Status ForEachChunkObject(object::ObjectStore& store, const std::string& prefix,
                          const ChunkObjectVisitor& fn);

// The same for the blocks of one slice only (a listing of "{id}_" in its directory).
Status ForEachSliceObject(object::ObjectStore& store, const std::string& prefix, uint64_t id,
                          const ChunkObjectVisitor& fn);

// Whether the object is a block of the referenced slice `e` with the key's length (index in
// range, blockLen as the slice size says).
bool IsBlockOf(const meta::scan::SliceTable::Entry& e, const chunk::BlockKeyParts& parts,
               uint32_t block_size);

// Whether a stored body of `stored` bytes can hold a block of `plain_len` bytes
// (docs/format/block-layout.md: payload + 16-byte trailer; a compressed payload is never
// larger than the plain block, which is stored plain when it does not shrink).
bool StoredSizeOk(uint64_t stored, uint32_t plain_len, bool compressed);

}  // namespace strata::cli

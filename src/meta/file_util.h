// Helpers shared by the file-data operations of Meta (slice_ops, truncate, copy, gc, sessions,
// trash): chunk slice lists and length/usage bookkeeping, each inside a caller's transaction.
// Not part of the public API.
//
// Reference rule (docs/format/meta-schema.md): every record with id != 0 in any chunk list
// holds exactly one reference to its stored slice. K{id}{size} holds the count when it is not
// 1; a count reaching 0 moves the slice to G{id}{size} (blocks to delete).
//
// Thread-safety: stateless functions; a Transaction belongs to one thread.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "meta/kv/kv.h"
#include "meta/types.h"

namespace strata::meta::internal {

// The chunk's slice list (empty when absent).
Result<std::vector<Slice>> ReadChunkList(kv::Transaction& txn, Ino ino, uint32_t chunk);
// Writes the list (deletes the key when empty).
void WriteChunkList(kv::Transaction& txn, Ino ino, uint32_t chunk,
                    const std::vector<Slice>& slices);
// Appends one record.
Status AppendToChunk(kv::Transaction& txn, Ino ino, uint32_t chunk, const Slice& slice);

// Sets attr.length to new_length and charges the difference to the volume and to the usage
// of the file's directory (attr.parent), or when hard-linked to each directory holding links
// (times its link count there). kNoSpace past capacity.
// An unlinked open file (nlink 0) is no longer counted, so nothing is charged for it.
Status ChangeLength(kv::Transaction& txn, Ino ino, Attr& attr, uint64_t new_length);

// Kernel-style check that `ctx` may change the data of the file: a regular file (kIsDir for a
// directory, kInvalidArgument otherwise) writable by ctx.
Status CheckWritableFile(const Context& ctx, const Attr& attr);

// Appends hole records (id 0) covering [begin, end) of the file, one per chunk touched.
Status PunchHoles(kv::Transaction& txn, Ino ino, uint64_t begin, uint64_t end);

}  // namespace strata::meta::internal

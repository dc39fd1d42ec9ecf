// BlockTier: one place a block can be found, DESIGN.md §7. A read asks an ordered chain of
// tiers (tier_chain.h) — memory → local disk → [writeback staging] → [cache group peer] →
// object store — and the first tier holding the block serves it. Blocks are named by their
// object-store key (chunk/block_key.h) and are immutable, so every tier holding a key holds
// the same bytes.
//
// A tier plays up to three roles:
//   source  Get (the whole plain block) and, when ServesRanges(), GetRange (some of its bytes
//           without fetching the rest: the store's ranged GET of an uncompressed block);
//   cache   WantsFill(): the chain Puts a block into it after a later tier served it, or after
//           it was written (read-after-write); Contains is its cheap "do I have it";
//   home    the chain's write target (TierChainOptions::write_target) receives new blocks with
//           Write and makes them durable with Sync: the object store today, the writeback
//           staging directory when there is one.
//
// Verification is each tier's duty: Get and GetRange never return bytes they cannot vouch
// for (the disk tier checks its file checksum, the store tier its CRC32C trailer through the
// block codec); the chain also checks every whole block's length against its key.
//
// Ownership: a tier is owned by whoever built it (BlockCache for memory and disk, ChunkStore
// for the store tier); the chain holds non-owning pointers. Data is passed as shared
// immutable buffers (BlockData, common/block_buffer.h) so that a memory hit costs no copy and
// a block read from a disk, a store or a peer is never zero-filled before it is filled.
// Thread-safety: every method may be called from any thread concurrently.
// Errors: a miss is kNotFound and is not an error — the chain asks the next tier. Anything else
// (kIOError, kCorruption, kUnavailable, kTimeout, ...) is an error of this tier: the chain logs
// it and skips the tier, except for the last tier, whose error is the read's result. Put is a
// fill: best effort, its error is logged by the chain and never fails a read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/block_buffer.h"
#include "common/env.h"
#include "common/status.h"

namespace strata::cache {

using BlockData = SharedBlock;  // std::shared_ptr<const BlockBuffer>

// A block as a tier keeps it, to be sent on without a pass over its bytes (the cache group's
// owner, peer_server.h): an open file whose bytes [0, len) are the block, and the CRC32C the
// tier stored beside them. The CRC is NOT checked by the tier: whoever receives the bytes does.
struct StoredBlock {
  std::unique_ptr<RandomAccessFile> file;
  uint32_t crc = 0;
};

// Where a new block comes from: the file and chunk its slice is written for (0/0: unknown).
// The store ignores it; writeback staging records it so that a restart can ask the metadata
// whether the slice was committed (cache/staging_format.h).
struct BlockOrigin {
  uint64_t ino = 0;
  uint32_t chunk = 0;
};

class BlockTier {
 public:
  virtual ~BlockTier() = default;

  // A short constant name for logs and stats: "memory", "disk", "store", ...
  virtual std::string_view Name() const = 0;

  // ---- source
  // The whole plain block under `key`, of `expected_len` bytes (the length its key names).
  // kNotFound on a miss.
  virtual Result<BlockData> Get(const std::string& key, uint32_t expected_len) = 0;
  // True when GetRange reads only the bytes asked for; false (the default) when the chain
  // should use Get and cut the range out itself.
  virtual bool ServesRanges() const { return false; }
  // Bytes [off, off+len) of the block under `key` (plain length block_len). REQUIRES:
  // ServesRanges() and off + len <= block_len. kNotFound on a miss; a short answer is
  // kIOError. Not verified by a checksum (the whole body is needed for that; full reads are).
  virtual Result<std::string> GetRange(const std::string& key, uint32_t block_len, uint32_t off,
                                       uint32_t len) {
    (void)key, (void)block_len, (void)off, (void)len;
    return Status::NotSupported(std::string(Name()) + " tier serves no ranges");
  }

  // The block under `key` (plain length `len`) as stored, unverified (see StoredBlock);
  // kNotFound on a miss, kCorruption when what is stored cannot be the block (wrong size, no
  // trailer: dropped), kNotSupported (the default) for tiers that keep no checksum with it.
  virtual Result<StoredBlock> OpenStored(const std::string& key, uint32_t len) {
    (void)key, (void)len;
    return Status::NotSupported(std::string(Name()) + " tier stores no checksum");
  }

  // ---- cache
  // True when the chain should fill this tier with blocks found below it (or just written).
  virtual bool WantsFill() const = 0;
  // Keeps `data` (the whole verified block) under `key`, evicting as the tier's limits say.
  // Best effort: a tier may decline (full, key unsuitable) and still return OK.
  virtual Status Put(const std::string& key, BlockData data) = 0;
  // True when the tier holds `key` by a cheap check (an index lookup, no verification).
  // Tiers that cannot tell cheaply (the store) return false.
  virtual bool Contains(const std::string& key) = 0;

  // ---- every tier
  // Drops `key` (the block was deleted from the store, or was found bad). Removing a missing
  // key is OK.
  virtual Status Remove(const std::string& key) = 0;

  // ---- home (the write target only; others keep these defaults)
  // Stores a new block durably: once OK, the block survives a crash of this process; with
  // `sync`, also a power cut of the machine holding the tier (DESIGN.md §6).
  virtual Status Write(const std::string& key, std::string_view plain, bool sync,
                       const BlockOrigin& origin) {
    (void)key, (void)plain, (void)sync, (void)origin;
    return Status::NotSupported(std::string(Name()) + " tier takes no writes");
  }
  // For a tier in front of this home that keeps a block before passing it on (writeback
  // staging): it encodes the block once, when it arrives, and later hands the body over, so
  // the upload needs neither the plain block nor a second encoding. EncodeBody is what Write
  // stores for `plain` (the store tier: the block codec's body, compressed and checksummed);
  // WriteBody(key, EncodeBody(plain), ...) stores exactly what Write(key, plain, ...) does.
  // Defaults: the body is the plain block.
  virtual std::string EncodeBody(std::string_view plain) const { return std::string(plain); }
  virtual Status WriteBody(const std::string& key, std::string_view body, bool sync,
                           const BlockOrigin& origin) {
    return Write(key, body, sync, origin);
  }
  // Makes blocks already written without sync durable against a power cut, as if each had
  // been written with sync. Keys that no longer exist are skipped (deleted meanwhile).
  virtual Status Sync(const std::vector<std::string>& keys) {
    (void)keys;
    return Status::NotSupported(std::string(Name()) + " tier takes no writes");
  }
};

}  // namespace strata::cache

// TierChain: block lookup as an ordered chain of tiers behind one interface (block_tier.h),
// DESIGN.md §7: memory → local disk → [writeback staging] → [cache group peer] → object store.
// Writeback and the cache group are tiers added to the list, not special cases here.
//
// Get(key, len) asks the tiers in order. The first that has the block serves it; on the way
// back the faster tiers that want fills (WantsFill) get a copy, nearest first (a disk hit is
// promoted into memory; a store hit fills disk and memory). A miss (kNotFound) moves on to
// the next tier. An error of any tier but the last is logged (LOG_WARN_EVERY: rate-limited
// per call site) and the tier is skipped; the last tier's error is the result. Every whole
// block is checked against the length its key names: a tier holding a block of another
// length is treated as corrupt (the entry is removed from it, the error logged, the next tier
// asked). Content verification is each tier's (disk: file checksum; store: CRC32C trailer via
// the block codec).
//
// Single flight: concurrent Gets of one key share one fetch down the chain, however many
// readers ask at once. Only the head tier, when it takes fills (the memory cache) and is not
// the only tier, is asked before joining, so that a memory hit costs no chain lock. Waiters are
// answered as soon as the block is found; the key stays registered until the fills are done, so a
// lookup in between still shares the fetch instead of starting another.
//
// Prefetch(key, len) fetches a block into the caches unless one of them has it (warmup, a small
// read's block); ReadAhead(key, len) also promotes a block the disk holds into the memory tier
// (a sequential reader's next blocks).
//
// GetRange(key, block_len, off, len) serves part of a block: tiers that do not ServesRanges()
// are asked for the whole block (a hit there is cut, and promoted as above); at the first tier
// that serves ranges (the store tier of an uncompressed volume), a whole-block fetch of the
// key already under way (readahead) is joined instead of sending a ranged read for part of
// the same bytes. Ranges fill nothing (a part is not a block). When no tier serves ranges (a
// compressed volume) it is Get's whole block, cut.
//
// TierChainOptions::no_fills_from_last names caches that a hit of the last tier (the store)
// does not fill; the other fills of those tiers are unchanged.
//
// Writes: Write(key, plain) stores a new block at the write target (TierChainOptions) — the
// object store tier today, the writeback staging tier when there is one — and then, when
// asked, fills the tiers before the target that want fills (read-after-write). Sync(keys) is
// the target's.
//
// Stats: per tier, in chain order: hits, misses, errors, fills, fill errors, writes and write
// errors; and how many lookups were answered by another reader's fetch (shared).
//
// Ownership: the chain does not own its tiers; they must outlive it.
// Thread-safety: every method may be called from any thread concurrently. No chain lock is
// held while a tier is called.
// Errors: Get/GetRange: kNotFound "block KEY is in no tier" when every tier missed; the last
// tier's error when it failed; otherwise, when only earlier tiers failed and the rest missed,
// the first such error (the block may be held by the failing tier, e.g. staged for upload).
// Write/Sync: the write target's error. Remove: the first tier error other than kNotFound.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/block_tier.h"
#include "common/status.h"

namespace strata::cache {

struct TierChainOptions {
  // Lookup order, fastest first; the last tier is the source of truth (the object store).
  // Not owned. Default: empty (invalid).
  std::vector<BlockTier*> tiers;
  // Where new blocks go (Write, Sync); must be one of `tiers`. Default: null (invalid).
  BlockTier* write_target = nullptr;
  // Tiers (of `tiers`, not the last) that take no fills from the last tier: a disk cache in
  // front of a store that is itself a local directory (file://), where a fill would write
  // each block read a second time onto the same disk for no faster later read. Hits of other
  // tiers and written blocks (Write with fill) still fill them. Default: none.
  std::vector<BlockTier*> no_fills_from_last;
  // kInvalidArgument for no tiers, a null tier, or a write target not in the list.
  Status Validate() const;
};

// One tier's counters. Plain snapshot.
struct TierStats {
  std::string name;
  uint64_t hits = 0;         // Get/GetRange answered by this tier
  uint64_t misses = 0;       // asked, did not have it
  uint64_t errors = 0;       // asked, failed (skipped, or the result when last)
  uint64_t fills = 0;        // blocks handed to Put (after a later tier served, or a write)
  uint64_t fill_errors = 0;  // Puts that failed (logged; reads are unaffected)
  uint64_t writes = 0;       // blocks written here (write target only)
  uint64_t write_errors = 0;
};

struct TierChainStats {
  std::vector<TierStats> tiers;  // in chain order
  uint64_t shared = 0;           // lookups answered by another reader's fetch (single flight)
};

class TierChain {
 public:
  static Result<std::unique_ptr<TierChain>> Open(const TierChainOptions& options);
  ~TierChain();
  TierChain(const TierChain&) = delete;
  TierChain& operator=(const TierChain&) = delete;

  // The whole plain block of `len` bytes under `key`; see above.
  Result<BlockData> Get(const std::string& key, uint32_t len);
  // Bytes [off, off+n) of the block (plain length block_len). REQUIRES: off + n <= block_len.
  Result<std::string> GetRange(const std::string& key, uint32_t block_len, uint32_t off,
                               uint32_t n);
  // Fetches the whole block into the fill tiers unless one of them holds it (Contains) or a
  // fetch of it is under way (then returns at once: no thread is held just to wait). Does
  // nothing when no tier takes fills. Errors as Get.
  Status Prefetch(const std::string& key, uint32_t len);
  // A sequential reader's readahead of a block it is about to read: Prefetch, except that a
  // block held only by a cache behind the head tier (the disk) is read into the head tier (the
  // memory cache) as a Get would, verified by the tier that has it. So the read that follows
  // is a memory hit instead of a wait on the disk (a disk cache read with O_DIRECT has no
  // kernel readahead behind it). Returns at once when the head tier holds the block or a
  // fetch of it is under way. Without a head tier that takes fills, it is Prefetch. Errors as
  // Get.
  Status ReadAhead(const std::string& key, uint32_t len);

  // Stores a new block at the write target (sync: durable against power loss); then, with
  // fill, puts it into the tiers before the target that want fills.
  Status Write(const std::string& key, std::string_view plain, bool sync, bool fill,
               const BlockOrigin& origin = {});
  // The same with the block in a shared buffer (not null): the fill tiers keep references to
  // it instead of copies.
  Status Write(const std::string& key, const BlockData& data, bool sync, bool fill,
               const BlockOrigin& origin = {});
  // The write target's Sync (block_tier.h).
  Status Sync(const std::vector<std::string>& keys);
  // Drops `key` from every tier, fastest first (the block is being deleted).
  Status Remove(const std::string& key);

  // True when some tier but the last takes fills now (there is a cache to read ahead into).
  bool caches() const;
  TierChainStats stats() const;

 private:
  struct Counters;
  struct Flight;
  // What one tier said.
  enum class Answer { kHit, kMiss, kError };

  explicit TierChain(const TierChainOptions& options);

  // Asks tier i for the whole block, counting, length-checking and logging; *data on a hit,
  // *error on an error.
  Answer Ask(size_t i, const std::string& key, uint32_t len, BlockData* data, Status* error);
  // Asks tier i (which ServesRanges) for a range, counting and logging likewise.
  Answer AskRange(size_t i, const std::string& key, uint32_t block_len, uint32_t off, uint32_t n,
                  std::string* out, Status* error);
  // Counts a tier's non-OK answer: kNotFound is a miss; anything else an error (logged
  // unless the tier is the last), returned in *error with the tier's name as context.
  Answer NotServed(size_t i, const Status& status, Status* error);
  // Puts data into the tiers before `served` that want fills, nearest first (written: a new
  // block of Write, which no_fills_from_last does not apply to).
  void Fill(const std::string& key, const BlockData& data, size_t served, bool written = false);
  // The single-flight leader's part of Get: looks again at the head tier when it was probed,
  // else (or on a miss there) fetches; answers the waiters, fills, then unregisters the key.
  Result<BlockData> Lead(const std::string& key, uint32_t len, bool probed_head, Flight& flight);
  // The leader's walk down the chain from tier `from`; *served is the index of the tier
  // that had it.
  Result<BlockData> Fetch(const std::string& key, uint32_t len, size_t from, size_t* served);
  // The result when no tier had the block: see Errors above.
  Status NoTierHas(const std::string& key, const Status& first_error) const;
  // The fetch of `key` under way, or null.
  std::shared_ptr<Flight> FindFlight(const std::string& key);
  // Waits for another reader's fetch and takes its result (counted as shared).
  Result<BlockData> Wait(Flight& flight);

  const std::vector<BlockTier*> tiers_;
  const size_t write_target_;            // index into tiers_
  std::vector<bool> no_fill_from_last_;  // per tier: in TierChainOptions::no_fills_from_last
  std::vector<std::unique_ptr<Counters>> counters_;  // one per tier, same order
  std::atomic<uint64_t> shared_{0};

  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> inflight_;  // guarded by mu_
};

}  // namespace strata::cache

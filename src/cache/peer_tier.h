// PeerTier: the cache group as a tier of the block chain (block_tier.h), between the local
// disk cache and the object store (DESIGN.md §7). Get asks the key's owner on the ring
// (ring.h) over the framed peer protocol, version 2 (peer_wire.h, docs/format/peer-protocol.md):
//
//   owner is another member  a GET to it; the owner answers from its cache, or
//                            fetches from the store (once, however many ask) and answers;
//   owner is this member     the member's own LocalOwner (local_owner.h): its local tiers,
//                            then the store, in the single flight the peers' requests share;
//   no ring / no owner       a miss (the chain goes on to the store).
//
// A dead or slow peer is skipped within a bounded time: connecting, and every wait for bytes,
// is bounded by `timeout`, and the whole answer must arrive within `timeout` too; a peer that
// failed so is then skipped (a miss, no waiting) for `down_time`, and the chain reads from
// the store. A 404 from the owner is a miss; a 403, a bad reply MAC or CRC, or a 5xx is an
// error of this tier (logged by the chain, which then asks the store). The block is received
// straight into its final buffer and its CRC32C (the one the owner stored with it) checked
// here, the one pass over it on the way; a block failing it is also evicted from the owner.
// Connections to each peer are kept (up to 64 idle) and reused; a request on a reused
// connection that the peer had closed meanwhile is sent again on a new one.
//
// Fills: with fill_on_write (--fill-group-on-write) the chain's fills (a block just written,
// or one the store served) are sent to their owner with PUT, so that readers on other
// members find it at once; otherwise the tier takes no fills.
//
// Ownership: auth and clock are borrowed. The ring and LocalOwner are given by CacheGroup
// (SetMembers) whenever membership changes; the LocalOwner must outlive the tier.
// Thread-safety: every method may be called concurrently; no lock is held across a request.
// Errors: see above; kUnavailable for a peer that cannot be reached in time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/block_tier.h"
#include "cache/local_owner.h"
#include "cache/peer_auth.h"
#include "cache/peer_wire.h"
#include "cache/ring.h"
#include "common/clock.h"

namespace strata::cache {

struct PeerTierOptions {
  std::chrono::milliseconds timeout{3000};     // connect / each wait / whole answer
  std::chrono::milliseconds down_time{10000};  // how long a failed peer is skipped
  bool fill_on_write = false;                  // PUT fills to their owner
};

struct PeerTierStats {
  uint64_t peer_hits = 0;  // blocks another member served
  uint64_t peer_bytes = 0;
  uint64_t peer_misses = 0;    // owners that had it nowhere (404)
  uint64_t peer_errors = 0;    // failed requests (unreachable, slow, 403, 5xx, bad reply)
  uint64_t skipped = 0;        // lookups not sent because the owner was marked down
  uint64_t owned_lookups = 0;  // lookups of blocks this member owns (its LocalOwner)
  uint64_t fills_sent = 0;     // blocks PUT to their owner
};

// Where a key lives now.
struct PeerOwner {
  std::string id;     // the owner's address; "" when the ring is empty
  bool self = false;  // this member
};

class PeerTier : public BlockTier {
 public:
  PeerTier(const PeerTierOptions& options, const PeerAuth* auth, Clock* clock);
  ~PeerTier() override;

  std::string_view Name() const override { return "peer"; }
  Result<BlockData> Get(const std::string& key, uint32_t expected_len) override;
  bool WantsFill() const override { return options_.fill_on_write; }
  Status Put(const std::string& key, BlockData data) override;
  bool Contains(const std::string&) override { return false; }  // not cheap to know
  // Blocks are immutable and a deleted one is never asked for again: the owner's copy ages
  // out of its cache. OK.
  Status Remove(const std::string&) override { return Status::OK(); }

  // The ring to use from now on; `self` is this member's id in it ("" when not serving) and
  // `local` its LocalOwner (null when not serving).
  void SetMembers(std::shared_ptr<const HashRing> ring, std::string self, LocalOwner* local);
  PeerOwner OwnerOf(const std::string& key) const;

  // For warmup (the whole group's view of a block): makes the owner hold the block (it
  // fetches it from the store when it does not); true when it was already cached there.
  Result<bool> Warm(const std::string& key, uint32_t len);
  // True when the owner's local tiers hold it.
  Result<bool> Cached(const std::string& key, uint32_t len);
  // Drops it from the owner's local tiers.
  Status Evict(const std::string& key, uint32_t len);

  PeerTierStats stats() const;
  std::vector<RingMember> members() const;

 private:
  struct Peer;  // a member's idle connections and down mark (peer_tier.cc)
  struct Reply {
    int status = 0;
    BlockBuffer body;  // the block of a 200 GET; else a one-line text
  };
  std::shared_ptr<Peer> PeerFor(const std::string& id);
  LocalOwner* Local() const;
  // One request to `id`; verifies the reply MAC and CRC. kUnavailable when the peer cannot
  // be reached in time or speaks another version (it is then marked down),
  // kPermissionDenied for 403, kCorruption for a reply that fails its MAC or its CRC (then
  // *bad_crc is set).
  Result<Reply> Call(const std::string& id, wire::Op op, const std::string& key, uint32_t len,
                     const BlockBuffer* body, bool* bad_crc = nullptr);
  // A connected socket to `p`, or kUnavailable.
  Result<int> Connect(Peer& p, const std::string& id, int64_t deadline);
  bool IsDown(Peer& p) const;
  void MarkDown(Peer& p, const std::string& id, const Status& why);

  const PeerTierOptions options_;
  const PeerAuth* const auth_;
  Clock* const clock_;

  mutable std::mutex mu_;
  std::shared_ptr<const HashRing> ring_;                          // guarded by mu_
  std::string self_;                                              // guarded by mu_
  LocalOwner* local_ = nullptr;                                   // guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<Peer>> peers_;  // guarded by mu_

  std::atomic<uint64_t> peer_hits_{0}, peer_bytes_{0}, peer_misses_{0}, peer_errors_{0},
      skipped_{0}, owned_{0}, fills_sent_{0};
};

}  // namespace strata::cache

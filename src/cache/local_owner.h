// LocalOwner: what a cache group member serves to its peers (peer_server.h PeerBackend): its
// own local tiers (memory, disk) in front of the object store tier, as a TierChain of its
// own — so a block asked for by many peers at once is fetched from the store once (the
// chain's single flight), lands in the local tiers, and is answered to all of them. The
// member's own reads of the blocks it owns come here too (peer_tier.h), so they share that
// single flight with the peers' requests.
//
// The peer tier is deliberately not part of this chain: the owner is the end of the line.
//
// Ownership: the tiers are borrowed (ChunkStore owns them) and must outlive this.
// Thread-safety: every method may be called concurrently.
// Errors: Fetch and Serve: the chain's (kNotFound when the block is nowhere, the store's error).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cache/peer_server.h"
#include "cache/tier_chain.h"

namespace strata::cache {

class LocalOwner : public PeerBackend {
 public:
  using KeyCheck = std::function<bool(const std::string& key, uint32_t len)>;
  // `local`: the member's cache tiers, fastest first; `store`: the last tier.
  static Result<std::unique_ptr<LocalOwner>> Open(std::vector<BlockTier*> local, BlockTier* store,
                                                  KeyCheck valid);

  bool ValidKey(const std::string& key, uint32_t len) const override { return valid_(key, len); }
  // The block from the local tiers, else from the store (filling the local tiers): for this
  // member's own reads of the blocks it owns.
  Result<BlockData> Fetch(const std::string& key, uint32_t len);
  // For a peer: a local tier's stored file (sent as it is, its stored CRC unverified: the peer
  // checks it) when the first tier holding the block keeps one, else the block in memory
  // with its CRC computed here (a memory hit, or Fetch from the store).
  Result<ServedBlock> Serve(const std::string& key, uint32_t len) override;
  bool Cached(const std::string& key) override;
  Status Fill(const std::string& key, BlockData data) override;
  Status Evict(const std::string& key) override;
  TierChainStats stats() const { return chain_->stats(); }

 private:
  LocalOwner() = default;
  std::vector<BlockTier*> local_;
  KeyCheck valid_;
  std::unique_ptr<TierChain> chain_;
};

}  // namespace strata::cache

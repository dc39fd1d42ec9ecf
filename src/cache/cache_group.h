// CacheGroup: this mount's membership in a cache group (DESIGN.md §7, `--cache-group NAME`):
// the peer tier it adds to the block chain (peer_tier.h), the server that answers the other
// members (peer_server.h) over its local tiers and the store (local_owner.h), and the ring
// (ring.h) rebuilt from the members' session records.
//
// Membership needs no extra service: each serving member publishes its peer address, group
// name and cache size in its session record in the metadata engine (meta::SessionInfo);
// every `refresh` the group lists the live sessions (the caller's ListMembers) and swaps in a
// new ring when the set changed. A member that stops heartbeating drops out when its session
// expires; before that, the peer tier skips it after its first failed request.
//
// `--no-sharing` members (and read-only mounts, which write no session) read through the
// group but serve nothing: no server, no address published, not on the ring.
//
// Life cycle, driven by the composition root (client/client.cc):
//   Open (the tier exists, empty ring) -> ChunkStore puts tier() into its chain ->
//   Serve (local tiers + store; binds the port; returns the address to publish) ->
//   the session is written with it -> StartMembership -> ... -> Stop (server and refresh
//   thread end; the tier answers misses) -> the chain goes -> the group is destroyed.
//
// Thread-safety: tier() and stats() from any thread; the life-cycle calls from one thread.
// Errors: Open: kInvalidArgument for bad options; Serve: the server's (bind failures).
// Failed membership refreshes are logged and the last ring kept.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cache/local_owner.h"
#include "cache/peer_auth.h"
#include "cache/peer_server.h"
#include "cache/peer_tier.h"
#include "cache/ring.h"
#include "common/clock.h"

namespace strata::cache {

struct CacheGroupOptions {
  std::string name;            // --cache-group NAME; "" = no group (default)
  std::string listen;          // --group-listen HOST:PORT; "" = a free port on the primary address
  bool sharing = true;         // --no-sharing turns it off: read through the group, serve nothing
  bool fill_on_write = false;  // --fill-group-on-write: new blocks go to their owner's cache
  std::chrono::milliseconds timeout{3000};     // --group-timeout: a peer slower than this is skipped
  std::chrono::milliseconds refresh{2000};     // membership re-read period
  std::chrono::milliseconds down_time{10000};  // a failed peer is skipped this long
  int max_connections = 1024;                  // peer connections served at once (a thread each)
  bool enabled() const { return !name.empty(); }
  // kInvalidArgument naming the flag.
  Status Validate() const;
};

struct CacheGroupStats {
  std::string name;
  std::string address;               // "" when not serving
  std::vector<RingMember> members;   // the current ring
  PeerTierStats tier;
  PeerServerStats server;
};

class CacheGroup {
 public:
  using ListMembers = std::function<Result<std::vector<RingMember>>()>;

  // `secret` from DerivePeerSecret; `clock` borrowed.
  static Result<std::unique_ptr<CacheGroup>> Open(const CacheGroupOptions& options,
                                                  std::string secret, Clock* clock);
  ~CacheGroup();
  CacheGroup(const CacheGroup&) = delete;
  CacheGroup& operator=(const CacheGroup&) = delete;

  PeerTier* tier() { return tier_.get(); }
  const CacheGroupOptions& options() const { return options_; }

  // Sharing members: serves `local` (fastest first) and `store` to the peers, accepting only
  // keys `valid` says are this volume's blocks; `weight` is this member's cache size.
  // Returns the address to publish. Not sharing: does nothing and returns "".
  Result<std::string> Serve(std::vector<BlockTier*> local, BlockTier* store,
                            LocalOwner::KeyCheck valid, uint64_t weight);
  // Reads membership now (so the first reads already use the ring), then every refresh.
  void StartMembership(ListMembers list);
  // Ends the refresh thread and the server; the tier then misses every lookup. Idempotent.
  void Stop();

  const std::string& address() const { return address_; }
  CacheGroupStats stats() const;

  // The host's primary address (the source address of its default route), else 127.0.0.1.
  static std::string PrimaryAddress();

 private:
  CacheGroup(const CacheGroupOptions& options, std::string secret, Clock* clock);
  void Refresh();
  void Loop();

  const CacheGroupOptions options_;
  Clock* const clock_;
  PeerAuth auth_;
  std::unique_ptr<PeerTier> tier_;
  std::unique_ptr<LocalOwner> local_;
  std::unique_ptr<PeerServer> server_;
  std::string address_;
  ListMembers list_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                 // guarded by mu_
  std::vector<RingMember> current_;   // guarded by mu_ (only the refresher writes it)
  std::thread thread_;
};

}  // namespace strata::cache

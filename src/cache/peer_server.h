// PeerServer: the serving half of a cache group member (DESIGN.md §7): an HTTP/1.1 keep-alive
// server (cpp-httplib, Debian libcpp-httplib-dev) answering other members' requests for the
// blocks this member owns on the ring, per docs/format/peer-protocol.md (version 1):
//
//   GET    /v1/block/KEY?len=N   the plain block: from the local tiers, else fetched from the
//                                store (single flight: one store GET however many ask)
//   PUT    /v1/block/KEY?len=N   a block a member just wrote (--fill-group-on-write): cached
//   GET    /v1/cached/KEY?len=N  200 when the local tiers hold it, else 404 (warmup --check)
//   DELETE /v1/block/KEY?len=N   dropped from the local tiers (warmup --evict); never the store
//
// Every request must carry a valid X-Strata-Peer header (peer_auth.h), else 403; a key the
// backend does not accept as one of this volume's blocks (or len not its length) gets 400.
//
// Why HTTP rather than a framed TCP protocol: the library is already in the tree (the
// metrics endpoint), gives keep-alive connection reuse and a worker pool, and makes the wire
// inspectable with curl; per-request overhead (a header block per 4 MiB block) is noise.
//
// Ownership: the server owns its listening thread and workers; `backend` and `auth` are
// borrowed and must outlive it (Stop or the destructor joins everything).
// Thread-safety: handlers run on the worker pool concurrently; the backend must be
// thread-safe. Start/Stop from the owning thread.
// Errors: Start: kInvalidArgument for a malformed address, kUnavailable when it cannot bind.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cache/block_tier.h"
#include "cache/peer_auth.h"
#include "common/clock.h"
#include "common/status.h"

namespace strata::cache {

// What a member serves from (local_owner.h implements it over the member's tiers).
class PeerBackend {
 public:
  virtual ~PeerBackend() = default;
  // True when `key` names a block of this volume whose plain length is `len`.
  virtual bool ValidKey(const std::string& key, uint32_t len) const = 0;
  // The block from the local tiers, else from the store (filling the local tiers).
  virtual Result<BlockData> Fetch(const std::string& key, uint32_t len) = 0;
  virtual bool Cached(const std::string& key) = 0;
  virtual Status Fill(const std::string& key, BlockData data) = 0;
  virtual Status Evict(const std::string& key) = 0;
};

struct PeerServerStats {
  uint64_t served = 0;       // GETs answered with a block
  uint64_t served_bytes = 0;
  uint64_t misses = 0;       // GETs answered 404 (the block is nowhere)
  uint64_t errors = 0;       // GETs answered 503 (the store failed)
  uint64_t denied = 0;       // requests refused 403
  uint64_t filled = 0;       // PUTs cached
};

class PeerServer {
 public:
  // Splits "HOST:PORT" ("[v6]:PORT" too); kInvalidArgument naming `flag`.
  static Status ParseAddress(const std::string& address, const std::string& flag,
                             std::string* host, int* port);
  // Listens on `host`:`port` (0: a free port); `threads` workers.
  static Result<std::unique_ptr<PeerServer>> Start(const std::string& host, int port,
                                                   int threads, const PeerAuth* auth,
                                                   PeerBackend* backend, Clock* clock);
  ~PeerServer();
  PeerServer(const PeerServer&) = delete;
  PeerServer& operator=(const PeerServer&) = delete;

  int port() const { return port_; }
  // Stops accepting and joins the workers (idempotent).
  void Stop();
  PeerServerStats stats() const;

  struct Impl;  // peer_server.cc

 private:
  PeerServer() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace strata::cache

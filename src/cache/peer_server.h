// PeerServer: the serving half of a cache group member (DESIGN.md §7): a TCP server speaking
// the framed peer protocol, version 2 (peer_wire.h, docs/format/peer-protocol.md), answering
// other members' requests for the blocks this member owns on the ring:
//
//   GET     the block: from the local tiers (a disk cache file is sent as it is stored, with
//           sendfile and its stored CRC: the asker verifies it), else fetched from the store
//           (single flight: one store GET however many ask)
//   PUT     a block a member just wrote (--fill-group-on-write): checked against its CRC, cached
//   CACHED  200 when the local tiers hold it, else 404 (warmup --check)
//   EVICT   dropped from the local tiers (warmup --evict); never from the store
//
// Every request must carry valid auth (peer_auth.h), else 403 and the connection is closed; a
// key the backend does not accept as one of this volume's blocks (or a len not its length)
// gets 400. A version 1 (HTTP) request gets an HTTP 403 naming the version.
//
// Threads: one acceptor, and one thread per connection (connections are long-lived and carry
// one request at a time; at most `max_connections`, more are closed at once). An idle
// connection is closed after 60 s; a request must arrive, and its reply leave, within 30 s.
//
// Ownership: the server owns its socket and threads; `backend` and `auth` are borrowed and
// must outlive it (Stop or the destructor joins everything).
// Thread-safety: requests are served concurrently; the backend must be thread-safe.
// Start/Stop from the owning thread.
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

// What a GET is answered with: the block in memory (`data`), or else the first `len` bytes of
// `stored.file`; `stored.crc` is the CRC32C of the block either way (for a stored file, the
// checksum stored beside it, unverified: the asking member verifies it).
struct ServedBlock {
  BlockData data;
  StoredBlock stored;
};

// What a member serves from (local_owner.h implements it over the member's tiers).
class PeerBackend {
 public:
  virtual ~PeerBackend() = default;
  // True when `key` names a block of this volume whose plain length is `len`.
  virtual bool ValidKey(const std::string& key, uint32_t len) const = 0;
  // The block from the local tiers, else from the store (filling the local tiers).
  virtual Result<ServedBlock> Serve(const std::string& key, uint32_t len) = 0;
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
  // Listens on `host`:`port` (0: a free port), serving up to `max_connections` at once.
  static Result<std::unique_ptr<PeerServer>> Start(const std::string& host, int port,
                                                   int max_connections, const PeerAuth* auth,
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

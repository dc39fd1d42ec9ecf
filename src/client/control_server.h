// ControlServer: the local control endpoint of a running mount, through which `strata warmup`
// and `strata cache status` reach its caches (docs/operations.md "Cache group and warmup").
//
// Why an endpoint of the mount rather than the tool opening the volume itself: a tool would
// build its own chain, and blocks it fetched would land in ITS memory, or in cache files the
// mount's disk tier never indexed (the index is built at start); only the mount can fill,
// check and evict its own caches, and a group member's view of the ring is the mount's. Why
// not a control file inside the mount: it would need virtual files in vfs/ and fuse/ (another
// change is adding `.stats` there); an HTTP endpoint reuses cpp-httplib as the metrics and
// peer servers do.
//
// It listens on 127.0.0.1, on a free port, and writes a control file readable by the mount's
// owner only (0600): ControlFilePath(mount point) holds
//   {"address": "127.0.0.1:PORT", "token": HEX, "pid": PID, "mount_point": PATH}
// and every request must carry `Authorization: Bearer TOKEN`, so another local user, who
// cannot read the file, gets 403. The file is removed when the server stops.
//
//   GET  /v1/status                        cache sizes, hits per tier, evictions, the group
//   POST /v1/warmup?ino=I&chunk=C&mode=M   WarmChunk (warmup.h); M = fill | check | evict
//   GET  /v1/summary?path=REL&depth=N      meta::Summarize (meta/summary.h) of REL below the
//                                          mounted root: `strata summary`
//
// Ownership: borrows the Client, which must outlive the server.
// Thread-safety: handlers run on a small worker pool; everything they call is thread-safe.
// Errors: Start: kUnavailable (no port), kIOError (control file not writable).
#pragma once

#include <memory>
#include <string>

#include "client/client.h"
#include "common/status.h"

namespace strata::client {

// Where the control file of the mount at `mount_point` (an absolute, real path) lives:
// $STRATA_RUN_DIR, else /run/strata for root and /tmp/strata-UID for others, then
// "mount-" + 16 hex digits of Hash64(mount_point) + ".json".
std::string ControlFilePath(const std::string& mount_point);

// The status of a client's caches as JSON (what /v1/status answers).
std::string CacheStatusJson(Client& client);

class ControlServer {
 public:
  static Result<std::unique_ptr<ControlServer>> Start(Client* client,
                                                      const std::string& mount_point);
  ~ControlServer();  // stops, removes the control file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  ControlServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::client

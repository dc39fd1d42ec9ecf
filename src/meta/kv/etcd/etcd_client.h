// EtcdClient: the etcd v3 JSON gateway (POST /v3/kv/range, /v3/kv/txn, ...) over libcurl,
// for the etcd KV engine (internal to this directory). Why the gateway and not gRPC: see
// docs/etcd-engine.md (it is served by etcd 3.4 and 3.5 on the client port, needs no generated
// code, and costs a few tens of microseconds per request on loopback, measured there).
//
// Endpoints: every member of the URL is used. Requests go to the member that answered last;
// when it cannot be reached, has no leader, or times out, the request moves to the next member
// and is sent again, until the caller's deadline. Whether a re-send is safe is the caller's
// business: Post() reports through *maybe_applied that a request may have reached a member
// before it failed (the KV engine makes its commits safe to re-send, etcd_kv.h).
//
// Auth: with a user, a token from /v3/auth/authenticate is sent as the Authorization header
// and fetched again when the cluster says it is invalid (expired, or a member restarted).
// TLS: https:// with a CA file and an optional client certificate.
//
// Error mapping (the Status of Post): cannot connect / no leader / request timed out / leader
// changed / too many requests / stopping -> kUnavailable (retryable) after every member was
// tried; "required revision has been compacted" -> kConflict; bad credentials or permission
// -> kPermissionDenied; too many operations or a request too large -> kInvalidArgument
// (naming etcd's --max-txn-ops / --max-request-bytes); anything else -> kIOError.
//
// Thread-safety: Post() may be called from many threads at once (a pool of curl handles).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/status.h"

namespace strata::kv {

struct EtcdKvOptions {
  std::vector<std::string> endpoints;  // "host:port", at least one
  std::string prefix;                  // every key lives under it (may be empty)
  std::string user, password;          // empty user: no auth
  bool tls = false;                    // https://
  std::string ca_file, cert_file, key_file;
  int connect_timeout_ms = 1000;  // per member: an unreachable one costs at most this
  int io_timeout_ms = 5000;       // one request to one member
  int open_timeout_ms = 10000;    // Open(): how long to look for a member that answers
  // Version cache of read-write transactions (etcd_kv.h): keys this client last read or wrote,
  // with their mod_revision. 0: off.
  int cache_entries = 100000;
  Status Validate() const;
};

// Base64 (RFC 4648, with padding) as the gateway wants keys and values.
std::string Base64Encode(std::string_view in);
Result<std::string> Base64Decode(std::string_view in);

class EtcdClient {
 public:
  explicit EtcdClient(EtcdKvOptions opts);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // POSTs `body` to `path` ("/v3/kv/range") and returns the parsed JSON reply, moving through
  // the members on retryable failures until `deadline` (on `clock`). *maybe_applied (when
  // given) is set when some attempt may have reached a member before failing.
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body,
                              const Deadline& deadline, Clock* clock,
                              bool* maybe_applied = nullptr);

  const EtcdKvOptions& options() const { return opts_; }
  // "etcd://h1:2379,h2:2379/prefix" (no password).
  std::string Describe() const;

 private:
  struct Handle;
  // One request to one member. *retry_elsewhere: another member may answer.
  Result<nlohmann::json> PostOnce(Handle& h, size_t member, const std::string& path,
                                  const std::string& body, int64_t timeout_ms,
                                  bool* retry_elsewhere, bool* sent);
  Status Authenticate(Handle& h, size_t member, int64_t timeout_ms);
  std::unique_ptr<Handle> AcquireHandle();
  void ReleaseHandle(std::unique_ptr<Handle> h);

  const EtcdKvOptions opts_;
  std::atomic<size_t> current_{0};  // the member that answered last
  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;  // GUARDED_BY(mu_)
  std::string token_;                          // GUARDED_BY(mu_); "" before authenticating
};

}  // namespace strata::kv

// EtcdKv: the KvEngine over an etcd v3 cluster (etcd://[user:password@]h1:2379,h2:2379/prefix),
// for metadata that must survive the loss of a member (DESIGN.md §5, §11). Talks to the v3
// JSON gateway through EtcdClient (etcd_client.h). Layout (docs/format/etcd-layout.md,
// version 1), under the URL's prefix P ("prefix/"): P+"d"+key holds each KV pair's value
// as is; P+"m" the layout marker; P+"t"+engine id+"/"+slot the commit markers (below).
//
// Transactions: every read of one transaction is served at one etcd revision (the first
// read's), so reads are one snapshot and Validate() has nothing to check. Commit is one etcd
// Txn: compare mod_revision EQUAL the one seen for every key read (0 for a key seen absent),
// and for every scanned range mod_revision LESS than the read revision + 1 over the range (a
// key changed or added inside it fails that; a key deleted from it fails its own compare);
// then the buffered writes. A read-only transaction commits without a request.
// A version cache (`cache=N` in the URL, default 100000 keys; 0: off) keeps what read-write
// transactions of this client last read or wrote, with its mod_revision (a commit's writes
// carry the Txn's revision): such reads, and reads of keys the caller believes absent
// (ExpectAbsent), send no request and are compared at commit like any other (a compare-only
// Txn when nothing is written); a failed commit drops what it read.
//
// Re-sending a commit is safe: each commit also compares and rewrites a marker key private to
// the engine (one per concurrent commit slot) with a fresh sequence number, so a commit that
// reached a member which then died, and is sent again to the next member, applies at most
// once; the reply of a refused re-send says (from the marker's value) whether the first send
// applied. kOutcomeUnknown is left only when the deadline passes before any member answers.
//
// Limits: a transaction's compares and writes must fit the cluster's --max-txn-ops (etcd's
// default 128) and --max-request-bytes (1.5 MiB); beyond them Commit fails with
// kInvalidArgument saying which. Scans are paginated (at most kPage pairs per request).
//
// Thread-safety: the engine may be used from any thread; a Transaction belongs to one thread
// and may outlive the engine.
#pragma once

#include <memory>
#include <string>

#include "meta/kv/etcd/etcd_client.h"
#include "meta/kv/kv.h"

namespace strata::kv {

class EtcdShared;  // etcd_kv.cc

class EtcdKv : public KvEngine {
 public:
  // Fails with kUnavailable when no member answers within open_timeout_ms, kPermissionDenied
  // for bad credentials, kInvalidArgument when the prefix holds another layout.
  static Result<std::unique_ptr<EtcdKv>> Open(const EtcdKvOptions& opts);
  // etcd://[user:password@]host:port[,host:port...]/prefix[?cacert=F&cert=F&key=F&tls=1
  //        &connect_timeout_ms=N&io_timeout_ms=N&open_timeout_ms=N&cache=N]
  static Result<std::unique_ptr<EtcdKv>> OpenUrl(const std::string& url);

  ~EtcdKv() override;
  std::string Describe() const override;
  Result<std::unique_ptr<Transaction>> Begin(bool read_only) override;
  Status Clear() override;
  // From the member list: how many members a commit must reach.
  Result<Durability> GetDurability() override;

 private:
  explicit EtcdKv(std::shared_ptr<EtcdShared> shared);
  std::shared_ptr<EtcdShared> shared_;
};

}  // namespace strata::kv

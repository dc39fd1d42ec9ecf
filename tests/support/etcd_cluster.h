// EtcdCluster: a real etcd cluster for tests (TESTING.md recipe): `members` etcd processes on
// free 127.0.0.1 client and peer ports, each with its own data directory, short heartbeat and
// election timeouts, stopped by PID. Members can be SIGKILLed and started again (same data
// directory, so they rejoin) to test failover.
//
// Thread-safety: one owner. Errors: kNotFound when etcd is not installed (callers skip),
// kTimeout when the cluster does not become healthy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/process.h"

namespace strata::testing {

class EtcdCluster {
 public:
  // extra_args go to every member, e.g. {"--max-txn-ops", "128"}. With on_tmpfs the data
  // directories go to /dev/shm (when there is one), where etcd's fsync per commit is free:
  // tests; benchmarks pass false to measure the disk.
  static Result<std::unique_ptr<EtcdCluster>> Start(int members = 1,
                                                    std::vector<std::string> extra_args = {},
                                                    bool on_tmpfs = true);
  ~EtcdCluster();

  // "etcd://127.0.0.1:C0,127.0.0.1:C1,.../prefix" (every member).
  std::string Url(const std::string& prefix) const;
  int client_port(int i) const { return members_[i].client_port; }
  int size() const { return static_cast<int>(members_.size()); }
  // The member that is leader now (asks each member's /v3/maintenance/status); -1 if none.
  int Leader() const;
  void Kill(int i) { members_[i].proc->Kill(); }
  Status Restart(int i);
  // Runs etcdctl against the cluster (for tests that set up users); returns its output.
  Result<std::string> Etcdctl(const std::vector<std::string>& args) const;

 private:
  struct Member {
    int client_port = 0, peer_port = 0;
    std::unique_ptr<Subprocess> proc;
  };
  EtcdCluster() = default;
  Status Launch(int i, bool initial);
  Status WaitHealthy(int i, int timeout_ms) const;

  std::string dir_, token_;
  std::vector<Member> members_;
  std::vector<std::string> extra_args_;
};

// One HTTP/1.0 request to 127.0.0.1:port (for health checks); returns the body.
Result<std::string> HttpPost(int port, const std::string& path, const std::string& body,
                             int timeout_ms = 2000);

}  // namespace strata::testing

#include "tests/support/etcd_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace strata::testing {

Result<std::string> HttpPost(int port, const std::string& path, const std::string& body,
                             int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return FromErrno(errno, "socket");
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status s = FromErrno(errno, "connect to port " + std::to_string(port));
    close(fd);
    return s;
  }
  std::string req = "POST " + path +
                    " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: "
                    "application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string reply;
  if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) reply.append(buf, n);
  }
  close(fd);
  auto pos = reply.find("\r\n\r\n");
  if (reply.rfind("HTTP/1.", 0) != 0 || pos == std::string::npos) {
    return Status::Unavailable("no HTTP reply from port " + std::to_string(port));
  }
  if (reply.compare(9, 3, "200") != 0) {
    return Status::Unavailable("HTTP " + reply.substr(9, 3) + " from port " + std::to_string(port) +
                               ": " + reply.substr(pos + 4));
  }
  return reply.substr(pos + 4);
}

Result<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(int members,
                                                        std::vector<std::string> extra_args,
                                                        bool on_tmpfs) {
  if (system("command -v etcd >/dev/null 2>&1") != 0) {
    return Status::NotFound("etcd is not installed (Debian etcd-server)");
  }
  auto c = std::unique_ptr<EtcdCluster>(new EtcdCluster);
  if (on_tmpfs && access("/dev/shm", W_OK | X_OK) == 0) {
    std::string tmpl = "/dev/shm/strata-etcd-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) c->dir_ = tmpl;
  } else {
    c->dir_ = MakeTempDir("strata-etcd");
  }
  if (c->dir_.empty()) return Status::IOError("cannot create a temporary directory");
  c->token_ = "tok-" + std::to_string(getpid()) + "-" + c->dir_.substr(c->dir_.size() - 6);
  c->extra_args_ = std::move(extra_args);
  c->members_.resize(members);
  for (auto& m : c->members_) {
    m.client_port = FreePort();
    m.peer_port = FreePort();
    m.proc = std::make_unique<Subprocess>();
  }
  for (int i = 0; i < members; i++) RETURN_IF_ERROR(c->Launch(i, true));
  for (int i = 0; i < members; i++) RETURN_IF_ERROR(c->WaitHealthy(i, 20000));
  return c;
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_) m.proc->Stop();
  if (!dir_.empty()) RemoveTree(dir_);
}

std::string EtcdCluster::Url(const std::string& prefix) const {
  std::string u = "etcd://";
  for (size_t i = 0; i < members_.size(); i++) {
    u += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(members_[i].client_port);
  }
  return u + "/" + prefix;
}

Status EtcdCluster::Launch(int i, bool initial) {
  std::string cluster;
  for (size_t j = 0; j < members_.size(); j++) {
    cluster += (j ? "," : "") + std::string("m") + std::to_string(j) +
               "=http://127.0.0.1:" + std::to_string(members_[j].peer_port);
  }
  const Member& m = members_[i];
  std::string c = "http://127.0.0.1:" + std::to_string(m.client_port);
  std::string p = "http://127.0.0.1:" + std::to_string(m.peer_port);
  std::vector<std::string> argv = {"etcd",
                                   "--name",
                                   "m" + std::to_string(i),
                                   "--data-dir",
                                   dir_ + "/m" + std::to_string(i),
                                   "--listen-client-urls",
                                   c,
                                   "--advertise-client-urls",
                                   c,
                                   "--listen-peer-urls",
                                   p,
                                   "--initial-advertise-peer-urls",
                                   p,
                                   "--initial-cluster",
                                   cluster,
                                   "--initial-cluster-token",
                                   token_,
                                   "--initial-cluster-state",
                                   initial ? "new" : "existing",
                                   "--heartbeat-interval",
                                   "50",
                                   "--election-timeout",
                                   "500",
                                   "--max-txn-ops",
                                   "10000",
                                   "--log-level",
                                   "warn"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  return members_[i].proc->Start(argv, dir_ + "/m" + std::to_string(i) + ".log");
}

Status EtcdCluster::WaitHealthy(int i, int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    // A linearizable read succeeds only once the member sees a leader.
    auto r = HttpPost(members_[i].client_port, "/v3/kv/range", R"({"key":"AA=="})", 1000);
    if (r.ok() && r->find("\"header\"") != std::string::npos) return Status::OK();
    last = r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Timeout("etcd member " + std::to_string(i) + " not healthy: " + last.ToString());
}

Status EtcdCluster::Restart(int i) {
  members_[i].proc->Stop();
  RETURN_IF_ERROR(Launch(i, false));
  return WaitHealthy(i, 20000);
}

int EtcdCluster::Leader() const {
  for (size_t i = 0; i < members_.size(); i++) {
    if (!members_[i].proc->running()) continue;
    auto r = HttpPost(members_[i].client_port, "/v3/maintenance/status", "{}", 1000);
    if (!r.ok()) continue;
    auto field = [&](const std::string& name) {
      auto pos = r->find("\"" + name + "\":\"");
      if (pos == std::string::npos) return std::string();
      pos += name.size() + 4;
      return r->substr(pos, r->find('"', pos) - pos);
    };
    std::string leader = field("leader");
    std::string self = field("member_id");
    if (!leader.empty() && leader == self) return static_cast<int>(i);
  }
  return -1;
}

Result<std::string> EtcdCluster::Etcdctl(const std::vector<std::string>& args) const {
  std::string cmd =
      "ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:" + std::to_string(members_[0].client_port);
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return Status::IOError("popen etcdctl");
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  int rc = pclose(f);
  if (rc != 0) return Status::IOError("etcdctl " + (args.empty() ? "" : args[0]) + ": " + out);
  return out;
}

}  // namespace strata::testing

#include "client/control_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <thread>

#include "cache/peer_auth.h"
#include "cache/ring.h"
#include "chunk/chunk_store.h"
#include "client/warmup.h"
#include "common/logging.h"
#include "meta/summary.h"

namespace strata::client {

std::string ControlFilePath(const std::string& mount_point) {
  std::string dir;
  if (const char* env = std::getenv("STRATA_RUN_DIR"); env && *env) {
    dir = env;
  } else if (geteuid() == 0) {
    dir = "/run/strata";
  } else {
    dir = "/tmp/strata-" + std::to_string(geteuid());
  }
  char name[64];
  std::snprintf(name, sizeof(name), "/mount-%016llx.json",
                static_cast<unsigned long long>(cache::Hash64(mount_point)));
  return dir + name;
}

std::string CacheStatusJson(Client& client) {
  chunk::ChunkStore* cs = client.volume().chunk_store();
  nlohmann::json j;
  j["volume"] = client.volume().name();
  const cache::CacheStats c = cs->cache()->stats();
  j["memory_bytes"] = c.memory_bytes;
  j["memory_capacity"] = client.options().cache.memory_size;
  j["disk_bytes"] = c.disk_bytes;
  j["disk_blocks"] = c.disk_blocks;
  j["disk_capacity"] = client.options().cache.cache_dir.empty() ? 0
                                                                 : client.options().cache.cache_size;
  j["cache_dir"] = client.options().cache.cache_dir;
  j["disk_enabled"] = cs->cache()->disk_enabled();
  j["evictions"] = c.evictions;
  j["corrupt_dropped"] = c.corrupt_dropped;
  uint64_t lookups = 0, local_hits = 0;
  nlohmann::json tiers = nlohmann::json::array();
  for (const cache::TierStats& t : cs->tiers()->stats().tiers) {
    tiers.push_back({{"name", t.name}, {"hits", t.hits}, {"misses", t.misses},
                     {"errors", t.errors}, {"fills", t.fills}});
    if (t.name == "memory" || t.name == "disk") local_hits += t.hits;
    if (lookups == 0) lookups = t.hits + t.misses + t.errors;  // the first tier sees them all
  }
  j["tiers"] = tiers;
  j["lookups"] = lookups;
  j["local_hits"] = local_hits;
  j["shared"] = cs->tiers()->stats().shared;
  j["store_gets"] = client.store_metrics().Snapshot(object::StoreOp::kGet).calls;
  if (cache::CacheGroup* g = client.group()) {
    const cache::CacheGroupStats s = g->stats();
    nlohmann::json members = nlohmann::json::array();
    for (const auto& m : s.members) members.push_back({{"id", m.id}, {"weight", m.weight}});
    j["group"] = {{"name", s.name},
                  {"address", s.address},
                  {"sharing", !s.address.empty()},
                  {"members", members},
                  {"peer_hits", s.tier.peer_hits},
                  {"peer_bytes", s.tier.peer_bytes},
                  {"peer_misses", s.tier.peer_misses},
                  {"peer_errors", s.tier.peer_errors},
                  {"skipped_down", s.tier.skipped},
                  {"owned_lookups", s.tier.owned_lookups},
                  {"fills_sent", s.tier.fills_sent},
                  {"served", s.server.served},
                  {"served_bytes", s.server.served_bytes},
                  {"denied", s.server.denied}};
  }
  return j.dump();
}

struct ControlServer::Impl {
  httplib::Server http;
  std::thread thread;
  std::string file;
};

Result<std::unique_ptr<ControlServer>> ControlServer::Start(Client* client,
                                                            const std::string& mount_point) {
  std::unique_ptr<ControlServer> s(new ControlServer());
  s->impl_ = std::make_unique<Impl>();
  Impl* impl = s->impl_.get();
  const std::string token = cache::PeerAuth::NewNonce() + cache::PeerAuth::NewNonce();
  httplib::Server& http = impl->http;
  http.new_task_queue = [] { return new httplib::ThreadPool(32); };  // warmup --threads
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_pre_routing_handler([token](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") != "Bearer " + token) {
      res.status = 403;
      res.set_content("{\"error\":\"not this mount's control token\"}", "application/json");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.Get("/v1/status", [client](const httplib::Request&, httplib::Response& res) {
    res.set_content(CacheStatusJson(*client), "application/json");
  });
  http.Get("/v1/summary", [client](const httplib::Request& req, httplib::Response& res) {
    // `strata summary`: PATH is relative to the mounted root (the --subdir when there is one).
    auto fail = [&](int code, const std::string& msg) {
      res.status = code;
      res.set_content(nlohmann::json{{"error", msg}}.dump(), "application/json");
    };
    int depth = 0;
    try {
      depth = req.has_param("depth") ? std::stoi(req.get_param_value("depth")) : 0;
    } catch (const std::exception&) {
      return fail(400, "depth must be a number");
    }
    const std::string rel = req.get_param_value("path");
    meta::Meta* m = client->volume().meta();
    auto dir = m->ResolveDir(client->options().volume.subdir + "/" + rel);
    if (!dir.ok()) return fail(404, dir.status().ToString());
    auto rows = meta::Summarize(*m, *dir, rel.empty() ? "." : rel, depth);
    if (!rows.ok()) return fail(500, rows.status().ToString());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *rows) {
      out.push_back({{"path", r.path}, {"inode", r.ino}, {"depth", r.depth}, {"bytes", r.bytes},
                     {"inodes", r.inodes}, {"dirs", r.dirs}});
    }
    res.set_content(out.dump(), "application/json");
  });
  http.Post("/v1/warmup", [client](const httplib::Request& req, httplib::Response& res) {
    auto fail = [&](int code, const std::string& msg) {
      res.status = code;
      res.set_content(nlohmann::json{{"error", msg}}.dump(), "application/json");
    };
    auto mode = ParseWarmMode(req.get_param_value("mode"));
    if (!mode.ok()) return fail(400, std::string(mode.status().message()));
    uint64_t ino = 0, chunk = 0;
    try {
      ino = std::stoull(req.get_param_value("ino"));
      chunk = std::stoull(req.get_param_value("chunk"));
    } catch (const std::exception&) {
      return fail(400, "ino and chunk must be numbers");
    }
    if (chunk > UINT32_MAX) return fail(400, "chunk out of range");
    auto r = WarmChunk(*client, ino, static_cast<uint32_t>(chunk), *mode);
    if (!r.ok()) return fail(r.status().Is(Code::kNotFound) ? 404 : 400, r.status().ToString());
    res.set_content(nlohmann::json{{"blocks", r->blocks},
                                   {"bytes", r->bytes},
                                   {"cached_blocks", r->cached_blocks},
                                   {"cached_bytes", r->cached_bytes},
                                   {"failed", r->failed},
                                   {"error", r->error}}
                        .dump(),
                    "application/json");
  });
  const int port = http.bind_to_any_port("127.0.0.1");
  if (port < 0) return Status::Unavailable("cannot listen on 127.0.0.1 for the control endpoint");
  impl->file = ControlFilePath(mount_point);
  const std::string dir = impl->file.substr(0, impl->file.rfind('/'));
  mkdir(dir.c_str(), 0700);  // an existing directory is fine; a failure shows at open below
  const std::string body = nlohmann::json{{"address", "127.0.0.1:" + std::to_string(port)},
                                          {"token", token},
                                          {"pid", static_cast<int>(getpid())},
                                          {"mount_point", mount_point}}
                               .dump();
  const std::string tmp = impl->file + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, body.data(), body.size()) != static_cast<ssize_t>(body.size()) ||
      close(fd) != 0 || rename(tmp.c_str(), impl->file.c_str()) != 0) {
    return Status::IOError("cannot write the control file " + impl->file);
  }
  impl->thread = std::thread([impl] { impl->http.listen_after_bind(); });
  for (int i = 0; i < 5000 && !http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return s;
}

ControlServer::~ControlServer() {
  if (!impl_) return;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (!impl_->file.empty()) unlink(impl_->file.c_str());  // gone already: nothing to do
}

}  // namespace strata::client

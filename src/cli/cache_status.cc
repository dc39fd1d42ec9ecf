// strata cache status MOUNTPOINT [--json]: what the mount's caches hold and how they do —
// memory and disk bytes, hit ratio, evictions, store GETs and, for a cache group member, the
// group (members, peer hits, blocks served). Read from the mount's control endpoint
// (client/control_server.h); --json prints its answer as is.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include <httplib.h>

#include "cli/commands.h"
#include "cli/mount_control.h"
#include "common/units.h"

namespace strata::cli {
namespace {

struct CacheArgs {
  std::string mount_point;
  bool json = false;
};

std::string Pct(uint64_t part, uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%",
                whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return buf;
}

void Print(const nlohmann::json& j) {
  auto u = [&](const nlohmann::json& o, const char* k) { return o.value(k, uint64_t{0}); };
  std::printf("volume      %s\n", j.value("volume", "").c_str());
  std::printf("memory      %s of %s\n", FormatBytes(u(j, "memory_bytes")).c_str(),
              FormatBytes(u(j, "memory_capacity")).c_str());
  if (j.value("cache_dir", "").empty()) {
    std::printf("disk        none (no --cache-dir)\n");
  } else {
    std::printf("disk        %s of %s, %s blocks in %s%s\n", FormatBytes(u(j, "disk_bytes")).c_str(),
                FormatBytes(u(j, "disk_capacity")).c_str(),
                FormatCount(u(j, "disk_blocks")).c_str(), j.value("cache_dir", "").c_str(),
                j.value("disk_enabled", true) ? "" : " (DISABLED after an I/O error)");
  }
  const uint64_t lookups = u(j, "lookups");
  uint64_t peer_hits = 0;
  if (j.contains("group")) peer_hits = u(j["group"], "peer_hits");
  const uint64_t hits = u(j, "local_hits") + peer_hits;
  std::printf("hit ratio   %s (%s of %s block lookups: %s local, %s from peers)\n",
              Pct(hits, lookups).c_str(), FormatCount(hits).c_str(), FormatCount(lookups).c_str(),
              FormatCount(u(j, "local_hits")).c_str(), FormatCount(peer_hits).c_str());
  std::printf("evictions   %s\n", FormatCount(u(j, "evictions")).c_str());
  std::printf("store GETs  %s\n", FormatCount(u(j, "store_gets")).c_str());
  if (!j.contains("group")) return;
  const nlohmann::json& g = j["group"];
  const std::string addr = g.value("address", "");
  std::printf("group       %s, %s, %zu member(s)\n", g.value("name", "").c_str(),
              addr.empty() ? "not serving (--no-sharing)" : ("serving at " + addr).c_str(),
              g["members"].size());
  for (const auto& m : g["members"]) {
    std::printf("  member    %s (cache %s)%s\n", m.value("id", "").c_str(),
                FormatBytes(m.value("weight", uint64_t{0})).c_str(),
                m.value("id", "") == addr ? " (this mount)" : "");
  }
  std::printf("peer hits   %s (%s), misses %s, errors %s, skipped while down %s\n",
              FormatCount(peer_hits).c_str(), FormatBytes(u(g, "peer_bytes")).c_str(),
              FormatCount(u(g, "peer_misses")).c_str(), FormatCount(u(g, "peer_errors")).c_str(),
              FormatCount(u(g, "skipped_down")).c_str());
  std::printf("served      %s blocks (%s) to peers, %s requests refused\n",
              FormatCount(u(g, "served")).c_str(), FormatBytes(u(g, "served_bytes")).c_str(),
              FormatCount(u(g, "denied")).c_str());
}

int Run(const CacheArgs& a) {
  auto control = MountControl::Find(a.mount_point);
  if (!control.ok()) {
    std::fprintf(stderr, "strata cache status: %s\n", control.status().ToString().c_str());
    return 1;
  }
  auto cli = control->Connect();
  auto body = control->Call(*cli, "GET", "/v1/status");
  if (!body.ok()) {
    std::fprintf(stderr, "strata cache status: %s\n", body.status().ToString().c_str());
    return 1;
  }
  if (a.json) {
    std::printf("%s\n", body->c_str());
    return 0;
  }
  auto j = nlohmann::json::parse(*body, nullptr, false);
  if (!j.is_object()) {
    std::fprintf(stderr, "strata cache status: the mount sent no status\n");
    return 1;
  }
  Print(j);
  return 0;
}

}  // namespace

void RegisterCache(CLI::App& app) {
  CLI::App* cache = app.add_subcommand("cache", "Inspect a mount's caches");
  cache->require_subcommand(1);
  auto a = std::make_shared<CacheArgs>();
  CLI::App* status = cache->add_subcommand("status", "Cache size, hit ratio, evictions, group");
  status->add_option("MOUNTPOINT", a->mount_point, "A StrataFS mount point")->required();
  status->add_flag("--json", a->json, "Print the mount's answer as JSON");
  status->callback([a] { SetExitCode(Run(*a)); });
}

}  // namespace strata::cli

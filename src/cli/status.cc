// strata status META_URL: the volume's settings (secrets masked) and its live sessions, as
// JSON (with writeback, each session's staged bytes and blocks). Reads only; opens a
// read-only client without background jobs.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "meta/meta.h"

namespace strata::cli {
namespace {

void RunStatus(const client::Registries& registries, const std::string& url) {
  if (MetaDatabaseMissing(url)) {
    return Fail("status", Status::NotFound("volume is not formatted (no database at " + url + ")"));
  }
  auto engine = OpenMetaEngine(registries, url);
  if (!engine.ok()) return Fail("status", engine.status());
  meta::MetaOptions opts;
  opts.read_only = true;
  opts.background_jobs = false;
  auto m = meta::Meta::Open(*engine, opts);
  if (!m.ok()) return Fail("status", m.status());
  auto sessions = (*m)->ListSessions();
  if (!sessions.ok()) return Fail("status: sessions", sessions.status());
  auto usage = (*m)->GetStatFs(meta::Context{}, meta::kRootIno);
  if (!usage.ok()) return Fail("status: usage", usage.status());
  nlohmann::json out;
  out["setting"] = nlohmann::json::parse((*m)->format().MaskedJson());
  out["usage"] = {{"used_bytes", usage->used_bytes}, {"used_inodes", usage->used_inodes}};
  auto durability = (*engine)->GetDurability();
  out["metadata"] = {{"engine", (*engine)->Describe()}};
  if (durability.ok()) {
    out["metadata"]["survives_restart"] = durability->survives_restart;
    out["metadata"]["durability"] = durability->detail;
  } else {
    out["metadata"]["durability"] = "unknown: " + durability.status().ToString();
  }
  out["sessions"] = nlohmann::json::array();
  for (const auto& s : *sessions) {
    nlohmann::json j = {{"id", s.id},           {"host", s.host},
                        {"mount_point", s.mount_point}, {"pid", s.pid},
                        {"version", s.version}, {"expire", s.expire_unix}};
    if (s.staging.enabled) {
      // Writeback: what this session has staged and not uploaded yet (as of its last
      // heartbeat); lost only if that host's disk is lost.
      j["writeback"] = {{"staged_bytes", s.staging.bytes},
                        {"staged_blocks", s.staging.blocks},
                        {"oldest_staged_slice", s.staging.oldest_slice},
                        {"dir", s.staging.dir}};
    }
    if (!s.cache_group.empty()) {  // a cache group member (DESIGN.md §7)
      j["cache_group"] = s.cache_group;
      j["peer"] = s.peer_address;
      j["cache_weight"] = s.cache_weight;
    }
    out["sessions"].push_back(std::move(j));
  }
  std::printf("%s\n", out.dump(2).c_str());
}

}  // namespace

void RegisterStatus(CLI::App& app, const client::Registries& registries) {
  auto url = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("status", "Show a volume's settings and live sessions");
  cmd->add_option("META_URL", *url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  cmd->callback([url, reg = &registries] { RunStatus(*reg, *url); });
}

}  // namespace strata::cli

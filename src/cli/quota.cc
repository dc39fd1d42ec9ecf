// strata quota set|get|list|delete|check META_URL [--path DIR] [--capacity SIZE] [--inodes N]
// [--repair]: directory quotas (meta/quota.h; enforcement meta/quota_kv.h). Opens the engine
// with a Meta of its own and no session.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "common/units.h"
#include "meta/meta.h"
#include "meta/quota.h"
#include "meta/quota_kv.h"

namespace strata::cli {
namespace {

struct QuotaArgs {
  std::string meta_url;
  std::string path;
  std::string capacity;  // SIZE, "" = not given
  std::string inodes;    // N, "" = not given
  bool repair = false;
  bool json = false;
};

std::string Limit(uint64_t v, bool bytes) {
  if (v == 0) return "unlimited";
  return bytes ? FormatBytes(v) : std::to_string(v);
}

std::string Used(int64_t v, bool bytes) {
  const uint64_t u = static_cast<uint64_t>(std::max<int64_t>(v, 0));
  return bytes ? FormatBytes(u) : std::to_string(v);
}

nlohmann::json ToJson(const meta::quota::Info& i) {
  return {{"path", i.path},
          {"inode", i.ino},
          {"max_bytes", i.record.max_bytes},
          {"max_inodes", i.record.max_inodes},
          {"used_bytes", i.record.used_bytes},
          {"used_inodes", i.record.used_inodes}};
}

void PrintRows(const std::vector<meta::quota::Info>& rows, bool json) {
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& i : rows) out.push_back(ToJson(i));
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%-30s %12s %12s %12s %12s\n", "PATH", "USED", "CAPACITY", "INODES", "MAX INODES");
  for (const auto& i : rows) {
    std::printf("%-30s %12s %12s %12lld %12s\n", i.path.c_str(),
                Used(i.record.used_bytes, true).c_str(), Limit(i.record.max_bytes, true).c_str(),
                static_cast<long long>(i.record.used_inodes),
                Limit(i.record.max_inodes, false).c_str());
  }
}

// The Meta of the command (read_only for get/list/check without repair).
std::unique_ptr<meta::Meta> Open(const client::Registries& registries, const std::string& url,
                                 bool read_only) {
  if (MetaDatabaseMissing(url)) {
    Fail("quota", Status::NotFound("volume is not formatted (no database at " + url + ")"));
    return nullptr;
  }
  auto engine = OpenMetaEngine(registries, url);
  if (!engine.ok()) {
    Fail("quota", engine.status());
    return nullptr;
  }
  meta::MetaOptions opts;
  opts.read_only = read_only;
  opts.background_jobs = false;
  auto m = meta::Meta::Open(*engine, opts);
  if (!m.ok()) {
    Fail("quota", m.status());
    return nullptr;
  }
  return std::move(*m);
}

void RunSet(const client::Registries& reg, const QuotaArgs& a) {
  std::optional<uint64_t> cap, inodes;
  if (!a.capacity.empty()) {
    auto v = ParseSize(a.capacity);
    if (!v.ok()) return Fail("quota set", Status::InvalidArgument("bad --capacity: " + a.capacity));
    cap = *v;
  }
  if (!a.inodes.empty()) {
    auto v = ParseSize(a.inodes);  // plain numbers, and 1M style suffixes
    if (!v.ok()) return Fail("quota set", Status::InvalidArgument("bad --inodes: " + a.inodes));
    inodes = *v;
  }
  if (!cap && !inodes) {
    return Fail("quota set", Status::InvalidArgument("give --capacity SIZE and/or --inodes N"));
  }
  auto m = Open(reg, a.meta_url, false);
  if (!m) return;
  auto r = meta::quota::Set(*m, a.path, cap, inodes);
  if (!r.ok()) return Fail("quota set", r.status());
  PrintRows({*r}, a.json);
}

void RunGet(const client::Registries& reg, const QuotaArgs& a) {
  auto m = Open(reg, a.meta_url, true);
  if (!m) return;
  auto r = meta::quota::Get(*m, a.path);
  if (!r.ok()) return Fail("quota get", r.status());
  PrintRows({*r}, a.json);
}

void RunList(const client::Registries& reg, const QuotaArgs& a) {
  auto m = Open(reg, a.meta_url, true);
  if (!m) return;
  auto r = meta::quota::List(*m);
  if (!r.ok()) return Fail("quota list", r.status());
  PrintRows(*r, a.json);
}

void RunDelete(const client::Registries& reg, const QuotaArgs& a) {
  auto m = Open(reg, a.meta_url, false);
  if (!m) return;
  Status s = meta::quota::Delete(*m, a.path);
  if (!s.ok()) return Fail("quota delete", s);
  std::printf("deleted the quota of %s\n", a.path.c_str());
}

void RunCheck(const client::Registries& reg, const QuotaArgs& a) {
  auto m = Open(reg, a.meta_url, !a.repair);
  if (!m) return;
  auto r = meta::quota::Check(*m, a.path, a.repair);
  if (!r.ok()) return Fail("quota check", r.status());
  bool bad = false;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : *r) {
    if (!c.ok()) bad = true;
    if (a.json) {
      nlohmann::json j = ToJson(c.quota);
      j["computed_bytes"] = c.computed.bytes;
      j["computed_inodes"] = c.computed.inodes;
      j["dirs_differing"] = c.dirs.size();
      j["ok"] = c.ok();
      j["repaired"] = c.repaired;
      out.push_back(j);
      continue;
    }
    if (c.ok()) {
      std::printf("%s: ok (%lld bytes, %lld inodes)\n", c.quota.path.c_str(),
                  static_cast<long long>(c.computed.bytes),
                  static_cast<long long>(c.computed.inodes));
      continue;
    }
    std::printf("%s: recorded %lld bytes, %lld inodes; the tree holds %lld bytes, %lld inodes; "
                "%zu directory usage record(s) differ%s\n",
                c.quota.path.c_str(), static_cast<long long>(c.quota.record.used_bytes),
                static_cast<long long>(c.quota.record.used_inodes),
                static_cast<long long>(c.computed.bytes),
                static_cast<long long>(c.computed.inodes), c.dirs.size(),
                c.repaired ? " (repaired)" : "");
    for (const auto& d : c.dirs) {
      std::printf("  directory inode %llu: recorded %lld bytes, %lld inodes; holds %lld, %lld\n",
                  static_cast<unsigned long long>(d.dir), static_cast<long long>(d.recorded.bytes),
                  static_cast<long long>(d.recorded.inodes),
                  static_cast<long long>(d.computed.bytes),
                  static_cast<long long>(d.computed.inodes));
    }
  }
  if (a.json) std::printf("%s\n", out.dump(2).c_str());
  if (bad && !a.repair) SetExitCode(1);
}

constexpr const char* kBoundHelp =
    "A quota holds for the directory's whole subtree (nested quotas too); going over it returns "
    "EDQUOT and writes nothing. Each mount checks against a cached usage re-read every 1 s, "
    "after 4 MiB or 64 inodes of its own growth, and before refusing: with M mounts writing "
    "into one quota, usage passes the limit by at most (M-1) x (4 MiB + one write commit) and "
    "(M-1) x 65 inodes.";

}  // namespace

void RegisterQuota(CLI::App& app, const client::Registries& registries) {
  CLI::App* q = app.add_subcommand("quota", std::string("Directory quotas. ") + kBoundHelp);
  q->require_subcommand(1);
  auto add = [&](const char* name, const char* help, bool path_required,
                 void (*run)(const client::Registries&, const QuotaArgs&)) {
    auto a = std::make_shared<QuotaArgs>();
    CLI::App* c = q->add_subcommand(name, help);
    c->add_option("META_URL", a->meta_url, "Metadata engine URL")
        ->transform(MetaUrlFromEnv())->required();
    auto* p = c->add_option("--path", a->path, "Directory of the volume (e.g. /tenants/a)");
    if (path_required) p->required();
    c->add_flag("--json", a->json, "Print JSON");
    c->callback([a, run, reg = &registries] { run(*reg, *a); });
    return std::make_pair(c, a);
  };
  auto [set, sa] = add("set", "Set or change a directory's quota", true, RunSet);
  set->add_option("--capacity", sa->capacity, "Bytes (SIZE: 10G, 512M, ...; 0 = unlimited)");
  set->add_option("--inodes", sa->inodes, "Files and directories (0 = unlimited)");
  add("get", "Show a directory's quota and its usage", true, RunGet);
  add("list", "List every quota", false, RunList);
  add("delete", "Remove a directory's quota", true, RunDelete);
  auto [check, ca] = add("check",
                         "Recompute usage from the tree and compare (every quota without --path)",
                         false, RunCheck);
  check->add_flag("--repair", ca->repair, "Write the recomputed usage");
}

}  // namespace strata::cli

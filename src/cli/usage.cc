// strata usage META_URL [--path DIR] [--depth N] [--json]: bytes and inodes of each directory's
// whole subtree, from the directory usage records in one pass (meta/usage_tree.h), for DIR
// (default /) and its subdirectories down to N levels (default 1). What billing reads: one row
// per tenant directory with `--path /tenants --depth 1 --json`. Read-only; no session.
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "common/units.h"
#include "meta/meta.h"
#include "meta/usage_tree.h"

namespace strata::cli {
namespace {

struct UsageArgs {
  std::string meta_url;
  std::string path = "/";
  int depth = 1;
  bool json = false;
};

struct Row {
  std::string path;
  meta::Ino ino = 0;
  int depth = 0;
  meta::DirUsage total;
};

std::string Join(const std::string& dir, const std::string& name) {
  return (dir == "/" ? "" : dir) + "/" + name;
}

void Run(const client::Registries& registries, const UsageArgs& a) {
  if (MetaDatabaseMissing(a.meta_url)) {
    return Fail("usage",
                Status::NotFound("volume is not formatted (no database at " + a.meta_url + ")"));
  }
  auto engine = OpenMetaEngine(registries, a.meta_url);
  if (!engine.ok()) return Fail("usage", engine.status());
  meta::MetaOptions opts;
  opts.read_only = true;
  opts.background_jobs = false;
  auto m = meta::Meta::Open(*engine, opts);
  if (!m.ok()) return Fail("usage", m.status());
  auto dir = (*m)->ResolveDir(a.path);
  if (!dir.ok()) {
    return Fail("usage", dir.status().Is(Code::kNotDir)
                             ? Status(Code::kNotDir, "not a directory: " + a.path)
                             : Status::NotFound("no such directory in the volume: " + a.path));
  }
  auto tree = meta::scan::UsageTree::Build(**engine);
  if (!tree.ok()) return Fail("usage", tree.status());

  std::vector<Row> rows;
  std::string top = a.path.empty() || a.path[0] != '/' ? "/" + a.path : a.path;
  while (top.size() > 1 && top.back() == '/') top.pop_back();
  Status walk;
  std::function<void(const std::string&, meta::Ino, int)> visit = [&](const std::string& path,
                                                                      meta::Ino ino, int depth) {
    rows.push_back({path, ino, depth, tree->Total(ino)});
    if (depth >= a.depth || !walk.ok()) return;
    if (ino == meta::kRootIno && tree->Total(meta::kTrashIno).inodes > 0) {
      visit("/.trash", meta::kTrashIno, depth + 1);
    }
    std::string cursor;
    for (;;) {
      auto page = (*m)->Readdir(meta::Context{}, ino, cursor, 1000, false);
      if (!page.ok()) {
        walk = page.status();
        return;
      }
      for (const auto& e : page->entries) {
        if (e.type == meta::FileType::kDirectory) visit(Join(path, e.name), e.ino, depth + 1);
      }
      if (page->eof || page->entries.empty()) break;
      cursor = page->next_cursor;
    }
  };
  visit(top, *dir, 0);
  if (!walk.ok()) return Fail("usage", walk);

  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows) {
      out.push_back({{"path", r.path},
                     {"inode", r.ino},
                     {"depth", r.depth},
                     {"bytes", r.total.bytes},
                     {"inodes", r.total.inodes}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%12s %14s %12s  %s\n", "SIZE", "BYTES", "INODES", "PATH");
  for (const Row& r : rows) {
    std::printf("%12s %14lld %12lld  %s\n",
                FormatBytes(static_cast<uint64_t>(std::max<int64_t>(r.total.bytes, 0))).c_str(),
                static_cast<long long>(r.total.bytes), static_cast<long long>(r.total.inodes),
                r.path.c_str());
  }
}

}  // namespace

void RegisterUsage(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<UsageArgs>();
  CLI::App* cmd = app.add_subcommand(
      "usage", "Bytes and inodes per directory subtree, from the usage records (for billing)");
  cmd->add_option("META_URL", a->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  cmd->add_option("--path", a->path, "Directory of the volume to report")->capture_default_str();
  cmd->add_option("--depth", a->depth, "Also report subdirectories down to this many levels")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000).description(""));
  cmd->add_flag("--json", a->json, "Print a JSON array");
  cmd->callback([a, reg = &registries] { Run(*reg, *a); });
}

}  // namespace strata::cli

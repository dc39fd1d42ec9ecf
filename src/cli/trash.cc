// strata trash list META_URL [--path DIR] [--json]: the files in /.trash, one line each (or a
// JSON array): entry (HOUR/NAME), inode, size, owner, deletion time, original path.
// strata trash restore META_URL ENTRY... [--to DIR]: moves each entry back to its original
// directory under its original name (or into DIR), never replacing a file. As root; one line
// per entry restored (`restored ENTRY to PATH`), one `strata: ...` line per entry refused (exit 1
// when any was). Opens a client without background jobs and without a session
// (Meta::ListTrash/RestoreTrash).
#include <time.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "meta/meta.h"
#include "meta/scan.h"

namespace strata::cli {
namespace {

struct TrashArgs {
  std::string meta_url;
  std::string path;  // list: only files from this subtree; restore: --to
  bool json = false;
  std::vector<std::string> entries;
};

Result<std::unique_ptr<meta::Meta>> OpenVolume(const client::Registries& registries,
                                               const std::string& url, bool read_only) {
  if (MetaDatabaseMissing(url)) {
    return Status::NotFound("volume is not formatted (no database at " + url + ")");
  }
  ASSIGN_OR_RETURN(auto engine, OpenMetaEngine(registries, url));
  meta::MetaOptions opts;
  opts.read_only = read_only;
  opts.background_jobs = false;
  return meta::Meta::Open(engine, opts);
}

// The directory at an absolute path of the volume (as root), with the CLI's messages.
Result<meta::Ino> ResolveDir(meta::Meta& m, const std::string& path) {
  auto ino = m.ResolveDir(path);
  if (ino.ok()) return ino;
  if (ino.status().Is(Code::kNotDir)) return Status(Code::kNotDir, "not a directory: " + path);
  return Status::NotFound("no such directory in the volume: " + path);
}

std::string UtcTime(int64_t sec) {
  time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Origin(const meta::TrashEntry& e) {
  if (e.parent_path.empty()) return "<gone: inode " + std::to_string(e.parent) + ">/" + e.original;
  return (e.parent_path == "/" ? "" : e.parent_path) + "/" + e.original;
}

void RunList(const client::Registries& registries, const TrashArgs& a) {
  auto m = OpenVolume(registries, a.meta_url, true);
  if (!m.ok()) return Fail("trash list", m.status());
  meta::Ino under = meta::kRootIno;
  if (!a.path.empty()) {
    auto dir = ResolveDir(**m, a.path);
    if (!dir.ok()) return Fail("trash list", dir.status());
    under = *dir;
  }
  auto entries = (*m)->ListTrash(under);
  if (!entries.ok()) return Fail("trash list", entries.status());
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *entries) {
      out.push_back(
          {{"entry", e.hour + "/" + e.name},
           {"hour", e.hour},
           {"name", e.original},
           {"inode", e.ino},
           {"size", e.attr.length},
           {"uid", e.attr.uid},
           {"gid", e.attr.gid},
           {"deleted", e.attr.ctime.sec},
           {"parent_inode", e.parent},
           {"parent", e.parent_path.empty() ? nlohmann::json() : nlohmann::json(e.parent_path)}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%-40s %12s %12s %11s %-20s %s\n", "ENTRY", "INODE", "SIZE", "OWNER", "DELETED",
              "ORIGINAL");
  for (const auto& e : *entries) {
    const std::string owner = std::to_string(e.attr.uid) + ":" + std::to_string(e.attr.gid);
    std::printf("%-40s %12llu %12llu %11s %-20s %s\n", (e.hour + "/" + e.name).c_str(),
                static_cast<unsigned long long>(e.ino),
                static_cast<unsigned long long>(e.attr.length), owner.c_str(),
                UtcTime(e.attr.ctime.sec).c_str(), Origin(e).c_str());
  }
}

void RunRestore(const client::Registries& registries, const TrashArgs& a) {
  auto m = OpenVolume(registries, a.meta_url, false);
  if (!m.ok()) return Fail("trash restore", m.status());
  meta::Ino to = 0;
  if (!a.path.empty()) {
    auto dir = ResolveDir(**m, a.path);
    if (!dir.ok()) return Fail("trash restore", dir.status());
    to = *dir;
  }
  for (std::string entry : a.entries) {
    // Accepts HOUR/NAME as `trash list` prints it, also with a leading "/.trash/" or ".trash/".
    for (const std::string prefix : {"/.trash/", ".trash/"}) {
      if (entry.rfind(prefix, 0) == 0) entry = entry.substr(prefix.size());
    }
    const size_t slash = entry.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == entry.size()) {
      Fail("trash restore " + entry, Status::InvalidArgument("expected HOUR/NAME"));
      continue;
    }
    const std::string hour = entry.substr(0, slash), name = entry.substr(slash + 1);
    auto restored = (*m)->RestoreTrash(meta::Context{}, hour, name, to);
    if (!restored.ok()) {
      Fail("trash restore " + entry, restored.status());
      continue;
    }
    std::printf("restored %s to %s\n", entry.c_str(),
                meta::scan::PathOf((*m)->engine(), restored->ino).c_str());
  }
}

}  // namespace

void RegisterTrash(CLI::App& app, const client::Registries& registries) {
  CLI::App* cmd = app.add_subcommand("trash", "List and restore files in a volume's trash");
  cmd->require_subcommand(1);

  auto la = std::make_shared<TrashArgs>();
  CLI::App* list = cmd->add_subcommand("list", "List the files in the trash");
  list->add_option("META_URL", la->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  list->add_option("--path", la->path, "Only files deleted from this directory's subtree");
  list->add_flag("--json", la->json, "Print a JSON array");
  list->callback([la, reg = &registries] { RunList(*reg, *la); });

  auto ra = std::make_shared<TrashArgs>();
  CLI::App* restore = cmd->add_subcommand("restore", "Move trashed files back where they were");
  restore->add_option("META_URL", ra->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  restore->add_option("ENTRY", ra->entries, "HOUR/NAME as `strata trash list` shows it")
      ->required();
  restore->add_option("--to", ra->path, "Restore into this directory instead");
  restore->callback([ra, reg = &registries] { RunRestore(*reg, *ra); });
}

}  // namespace strata::cli

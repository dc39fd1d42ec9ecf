// strata sync-staging META_URL DIR [--timeout S]: uploads what a killed or crashed
// --writeback mount left in its staging directory DIR (DESIGN.md §6), without mounting.
// Blocks of slices that were committed are uploaded; blocks of slices that were never
// committed (the mount died between staging and commit) are removed (chunk/staging_recovery.h).
// DIR is locked while this runs: a mount using it is refused, and this is refused while a
// mount uses it. Reads the metadata only; writes only to the store and DIR.
//
// Exit status: 0 when DIR is empty at the end; 1 when blocks are left (the store kept failing
// for --timeout seconds with no progress: the last error is printed); 2 for bad arguments or
// a volume/store/engine that cannot be opened (one line on stderr, nothing changed).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "cli/volume_scan.h"
#include "client/client.h"
#include "common/units.h"

namespace strata::cli {
namespace {

struct SyncStagingArgs {
  std::string meta_url;
  std::string dir;
  double timeout_s = 60;
};

void Error(const Status& s) {
  Fail("sync-staging", s);
  SetExitCode(2);
}

void Run(const client::Registries& registries, const SyncStagingArgs& a) {
  if (!(a.timeout_s > 0 && a.timeout_s <= 86400)) {
    return Error(Status::InvalidArgument("--timeout must be between 0 and 86400 seconds"));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::path(a.dir) / "VERSION", ec)) {
    return Error(Status::InvalidArgument(a.dir + " is not a writeback directory (no VERSION "
                                                 "file; see docs/format/staging.md)"));
  }
  if (Status s = CheckMetaUrl(registries, a.meta_url); !s.ok()) return Error(s);
  if (MetaDatabaseMissing(a.meta_url)) {
    return Error(Status::NotFound("volume is not formatted (no database at " + a.meta_url + ")"));
  }
  client::ClientOptions co;
  co.meta_url = a.meta_url;
  co.volume.read_only = true;  // no session; the recovery only reads slice lists
  co.background_jobs = false;
  co.cache.memory_size = 0;
  co.writeback = true;
  co.staging.dir = std::filesystem::absolute(a.dir).lexically_normal().string();
  auto c = client::Client::Open(registries, co);
  if (!c.ok()) return Error(c.status());
  chunk::ChunkStore* chunks = (*c)->volume().chunk_store();
  const chunk::StagingRecovery& r = chunks->staging_recovery();
  std::printf("sync-staging: %s: %llu blocks (%s) of committed slices to upload; %llu blocks "
              "(%s) of slices never committed removed\n",
              co.staging.dir.c_str(), static_cast<unsigned long long>(r.adopted),
              FormatBytes(r.adopted_bytes).c_str(), static_cast<unsigned long long>(r.discarded),
              FormatBytes(r.discarded_bytes).c_str());
  const auto started = std::chrono::steady_clock::now();
  cache::StagingStats s = chunks->staging()->WaitDrained(
      std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000)));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("sync-staging: uploaded %llu blocks in %.1f s; %llu blocks (%s) left\n",
              static_cast<unsigned long long>(s.uploaded_total), secs,
              static_cast<unsigned long long>(s.blocks), FormatBytes(s.bytes).c_str());
  if (s.blocks > 0) {
    std::fprintf(stderr, "strata: sync-staging: %llu blocks left in %s; last upload error: %s\n",
                 static_cast<unsigned long long>(s.blocks), co.staging.dir.c_str(),
                 s.last_error.empty() ? "none" : s.last_error.c_str());
    SetExitCode(1);
  }
}

}  // namespace

void RegisterSyncStaging(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<SyncStagingArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sync-staging", "Upload the blocks a killed --writeback mount left in its staging dir");
  cmd->add_option("META_URL", a->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  cmd->add_option("DIR", a->dir, "The mount's --writeback-dir")->required();
  cmd->add_option("--timeout", a->timeout_s,
                  "Give up after this many seconds without an upload succeeding (default 60)");
  cmd->callback([a, reg = &registries] { Run(*reg, *a); });
}

}  // namespace strata::cli

// strata fsck META_URL [--repair] [--path DIR]: proves nothing is lost or leaked
// (docs/operations.md "fsck"). The metadata checks are meta::RunFsck; this file adds the store
// check — every block of every referenced slice exists with its key's length and a stored
// size that fits it — with ONE listing of NAME/chunks/ in key order for the whole volume (the
// listed keys are looked up in the sorted slice table), or one listing per slice with --path.
//
// Writeback: a referenced block absent from the store that a live --writeback session may
// still hold staged (session record: its oldest staged slice) is reported as
// "pending-upload", not as missing, and is not a problem.
//
// Output: one line per problem on stdout ("KIND WHERE: DETAIL"), then summary lines; on a
// terminal, periodic counts on stderr. Exit status: 0 clean, 1 problems found (repaired or
// not), 2 errors (bad URL, unformatted volume, unreachable engine or store, live sessions
// with --repair): one line on stderr, nothing changed.
#include "meta/fsck.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "chunk/block_key.h"
#include "cli/commands.h"
#include "cli/meta_open.h"
#include "cli/volume_scan.h"
#include "common/progress.h"

namespace strata::cli {
namespace {

struct FsckArgs {
  std::string meta_url;
  std::string path;
  bool repair = false;
};

void Error(const std::string& context, const Status& s) {
  Fail(context, s);
  SetExitCode(2);
}

// An error once the progress display runs: the error line is the only one on stderr.
void Error(const std::string& context, const Status& s, Progress& progress) {
  progress.Abandon();
  Error(context, s);
}

// The shared progress display (common/progress.h) fed from fsck's progress callback: the
// phase as the stage, directories/entries/inodes as counters; a redrawn line on a terminal,
// a plain line every 10 s otherwise, and a final line with the totals.
struct FsckProgressView {
  Progress progress{"fsck", {}};
  Progress::Counter* dirs = progress.AddCounter("directories");
  Progress::Counter* entries = progress.AddCounter("entries");
  Progress::Counter* inodes = progress.AddCounter("inodes");
  std::string phase;
  void Show(const meta::FsckProgress& p) {
    if (phase != p.phase) {
      phase = p.phase;
      progress.SetStage(phase);
    }
    dirs->Set(p.dirs);
    entries->Set(p.entries);
    inodes->Set(p.inodes);
  }
};

// Live sessions other than this tool's own: a repair under a running writer could undo its
// work, so --repair refuses them.
Status CheckNoWriters(client::Client& c) {
  meta::Meta* m = c.volume().meta();
  ASSIGN_OR_RETURN(auto sessions, m->ListSessions());
  const int64_t now = c.clock().NowNanos() / 1000000000;
  int live = 0;
  std::string first;
  for (const auto& s : sessions) {
    if (s.id == m->session_id() || s.expire_unix < now) continue;
    if (live++ == 0) first = s.host + ":" + s.mount_point + " (pid " + std::to_string(s.pid) + ")";
  }
  if (live == 0) return Status::OK();
  return Status(Code::kUnavailable,
                std::to_string(live) + " live session(s), e.g. " + first +
                    ": unmount every client (or wait for a killed one's session to expire) "
                    "before --repair");
}

// Live sessions that have blocks staged for upload (writeback, DESIGN.md §6), as their last
// heartbeat said.
Result<std::vector<meta::SessionInfo>> StagingSessions(client::Client& c) {
  ASSIGN_OR_RETURN(auto sessions, c.volume().meta()->ListSessions());
  const int64_t now = c.clock().NowNanos() / 1000000000;
  std::vector<meta::SessionInfo> out;
  for (auto& s : sessions) {
    if (s.expire_unix >= now && s.staging.enabled && s.staging.blocks > 0) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

// The writeback session that may still hold slice `id` staged (its oldest staged slice is at
// or below it), or null. Staged blocks are uploaded oldest first, so a block of an older
// slice that is not in the store is not waiting in that session's staging.
const meta::SessionInfo* StagedBy(const std::vector<meta::SessionInfo>& staging, uint64_t id) {
  for (const auto& s : staging) {
    if (s.staging.oldest_slice != 0 && id >= s.staging.oldest_slice) return &s;
  }
  return nullptr;
}

// The store half: every block of every slice in the table, with a fitting size. A block not
// in the store that a live writeback session may still have staged is "pending upload"
// (printed, not a problem); *pending counts them.
Status CheckBlocks(ToolVolume& v, meta::FsckResult& r, uint64_t* objects_seen,
                   uint64_t* pending) {
  client::Client& c = *v.client;
  ASSIGN_OR_RETURN(const auto staging, StagingSessions(c));
  object::ObjectStore& store = *v.store;
  const std::string& prefix = v.block_prefix;
  const uint32_t bs = c.volume().block_size();
  const bool compressed = c.volume().meta()->format().compression != "none";
  auto visit = [&](const object::ObjectInfo& info,
                   const std::optional<chunk::BlockKeyParts>& parts) -> Status {
    (*objects_seen)++;
    if (!parts) return Status::OK();
    meta::scan::SliceTable::Entry* e = r.slices.Find(parts->slice_id);
    if (e == nullptr || !IsBlockOf(*e, *parts, bs)) return Status::OK();  // gc's business
    if (!StoredSizeOk(info.size, parts->len, compressed)) {
      r.Add({"block-size", e->owner, meta::scan::PathOf(c.engine(), e->owner),
             "block " + info.key + " holds " + std::to_string(info.size) +
                 " bytes, which cannot be a block of " + std::to_string(parts->len) + " bytes"},
            SIZE_MAX);
      return Status::OK();
    }
    e->found++;
    return Status::OK();
  };
  if (r.whole_volume) {
    RETURN_IF_ERROR(ForEachChunkObject(store, prefix, visit));
  } else {
    for (auto& e : r.slices.entries()) {
      RETURN_IF_ERROR(ForEachSliceObject(store, prefix, e.id, visit));
    }
  }
  for (auto& e : r.slices.entries()) {
    const uint32_t want = chunk::NumBlocks(e.size, bs);
    if (e.found >= want) continue;
    // Name the missing blocks: a HEAD each, only for the slices that miss some.
    for (uint32_t i = 0; i < want; i++) {
      const std::string key = chunk::BlockKey(prefix, e.id, i, chunk::BlockLen(e.size, bs, i));
      auto head = store.Head(key);
      if (head.ok()) continue;
      if (!head.status().Is(Code::kNotFound)) return head.status();
      if (const meta::SessionInfo* s = StagedBy(staging, e.id)) {
        std::printf("pending-upload %s: block %s of slice %llu is staged on session %llu "
                    "(%s, %s), not uploaded yet\n",
                    meta::scan::PathOf(c.engine(), e.owner).c_str(), key.c_str(),
                    static_cast<unsigned long long>(e.id),
                    static_cast<unsigned long long>(s->id), s->host.c_str(),
                    s->staging.dir.c_str());
        (*pending)++;
        continue;
      }
      r.Add({"missing-block", e.owner, meta::scan::PathOf(c.engine(), e.owner),
             "block " + key + " of slice " + std::to_string(e.id) +
                 " is not in the store (that part of the file is lost; cannot be repaired)"},
            SIZE_MAX);
    }
  }
  return Status::OK();
}

void RunFsckCommand(const client::Registries& registries, const FsckArgs& a) {
  auto opened = OpenToolVolume(registries, a.meta_url, a.repair);
  if (!opened.ok()) return Error("fsck", opened.status());
  ToolVolume& v = *opened;
  client::Client& c = *v.client;
  if (a.repair) {
    if (Status s = CheckNoWriters(c); !s.ok()) return Error("fsck --repair", s);
  }
  FsckProgressView progress;
  meta::FsckOptions opts;
  opts.repair = a.repair;
  opts.path = a.path;
  opts.progress = [&](const meta::FsckProgress& p) { progress.Show(p); };
  const auto started = std::chrono::steady_clock::now();
  auto result = meta::RunFsck(c.engine(), opts);
  if (!result.ok()) return Error("fsck", result.status(), progress.progress);
  meta::FsckResult& r = *result;
  uint64_t objects = 0, pending = 0;
  progress.progress.SetStage("store");
  if (Status s = CheckBlocks(v, r, &objects, &pending); !s.ok()) {
    return Error("fsck: store", s, progress.progress);
  }
  progress.progress.Finish();  // before the report on stdout
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  for (const auto& p : r.problems) std::printf("%s\n", p.ToString().c_str());
  if (r.problems.size() < r.problem_count) {
    std::printf("... and %llu more problems\n",
                static_cast<unsigned long long>(r.problem_count - r.problems.size()));
  }
  for (const auto& s : r.skipped) std::printf("fsck: skipped (--path): %s\n", s.c_str());
  if (pending > 0) {
    std::printf("fsck: %llu blocks pending upload on live writeback sessions (not missing)\n",
                static_cast<unsigned long long>(pending));
  }
  std::printf(
      "fsck: checked %llu directories, %llu entries, %llu files, %zu slices, %llu "
      "objects listed in %.1f s\n",
      static_cast<unsigned long long>(r.dirs), static_cast<unsigned long long>(r.entries),
      static_cast<unsigned long long>(r.files), r.slices.size(),
      static_cast<unsigned long long>(objects), secs);
  if (r.problem_count == 0) {
    std::printf("fsck: clean\n");
    return;
  }
  std::printf("fsck: %llu problems, %llu repaired, %llu left\n",
              static_cast<unsigned long long>(r.problem_count),
              static_cast<unsigned long long>(r.repaired_count),
              static_cast<unsigned long long>(r.problem_count - r.repaired_count));
  SetExitCode(1);
}

}  // namespace

void RegisterFsck(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<FsckArgs>();
  CLI::App* cmd = app.add_subcommand("fsck", "Check a volume's metadata and blocks");
  cmd->add_option("META_URL", a->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  cmd->add_flag("--repair", a->repair, "Fix what can be fixed safely (no client may be mounted)");
  cmd->add_option("--path", a->path, "Check only this directory's subtree");
  cmd->callback([a, reg = &registries] { RunFsckCommand(*reg, *a); });
}

}  // namespace strata::cli

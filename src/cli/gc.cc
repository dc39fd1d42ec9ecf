// strata gc META_URL [--delete] [--threads N] [--age 1h]: finds what the store holds that no
// metadata references (docs/operations.md "gc"), by category, and with --delete removes it.
//
// Safety rule: gc must never delete a block a live writer may still commit. A writer uploads
// a slice's blocks BEFORE committing its record (DESIGN.md §6), with an id taken from the
// nextSlice counter, so between upload and commit a block looks unreferenced. gc therefore
//  1. reads nextSlice BEFORE scanning the metadata, and never deletes a block whose slice id
//     is at or above it: such an id was handed out after gc started, so the scan could not
//     have seen its commit whatever the clocks say (store mtimes are the store's clock);
//  2. never deletes a block whose store mtime is less than --age (default 1 h) before the
//     moment gc STARTED: a block older than that which is still unreferenced would need a
//     writer whose upload-to-commit took longer than --age (writers freeze a slice within
//     seconds and each upload is bounded by --io-timeout), however long gc itself runs;
//  3. deletes only keys that parse as block keys of this volume; anything else under
//     NAME/chunks/ is reported, never touched.
// Slices whose reference count reached zero (G records) and deleted files (D records) are
// the deleter's: gc reports them and with --delete runs the deleter to completion first
// (chunk::Deleter, the same code the mounts run). With --age 0s the rule is the user's to
// keep: no writer may be running.
//
// Writeback: blocks staged on a mount's local disk are not in the store until uploaded, so
// gc cannot delete them; their slices are referenced, so once uploaded they are live. gc
// reports what live sessions have staged (their session records).
//
// Multipart uploads: the store interface cannot list them, and StrataFS writes every block
// with one PUT, so none are left by a client; the line says so. file:// temporary files of a
// killed Put are not listed by the store (docs/format/file-store.md).
//
// Exit status: 0 done (whatever was found), 2 errors (one line on stderr; nothing deleted
// when the error came before the deletion phase).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chunk/block_key.h"
#include "chunk/chunk_store.h"
#include "cli/commands.h"
#include "cli/meta_open.h"
#include "cli/volume_scan.h"
#include "common/progress.h"
#include "common/units.h"
#include "common/bytes.h"
#include "meta/scan.h"
#include "meta/schema.h"

namespace strata::cli {
namespace {

struct GcArgs {
  std::string meta_url;
  bool del = false;
  int threads = 4;
  std::string age = "1h";
};

struct Tally {
  uint64_t n = 0, bytes = 0;
  void Add(uint64_t b) {
    n++;
    bytes += b;
  }
};

void Error(const std::string& context, const Status& s) {
  Fail(context, s);
  SetExitCode(2);
}

// "90", "90s", "30m", "1h", "2d" -> seconds.
Result<int64_t> ParseAge(const std::string& s) {
  size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &pos);
  } catch (...) {
    return Status::InvalidArgument("bad --age '" + s + "' (e.g. 1h, 30m, 0s)");
  }
  const std::string unit = s.substr(pos);
  int64_t mult = 1;
  if (unit == "m") {
    mult = 60;
  } else if (unit == "h") {
    mult = 3600;
  } else if (unit == "d") {
    mult = 86400;
  } else if (!unit.empty() && unit != "s") {
    return Status::InvalidArgument("bad --age unit in '" + s + "' (use s, m, h or d)");
  }
  if (v < 0) return Status::InvalidArgument("--age must not be negative");
  return static_cast<int64_t>(v) * mult;
}

// Deletes keys with `threads` workers; returns the first error (all keys are tried).
Status DeleteAll(object::ObjectStore& store, const std::vector<std::string>& keys, int threads) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  auto work = [&] {
    for (size_t i = next++; i < keys.size(); i = next++) {
      Status s = store.Delete(keys[i]);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = s.WithContext("deleting " + keys[i]);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; t++) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return first;
}

// Counts D (deleted files, bytes = their length) and G (slices, bytes = their size) records.
Status CountPending(kv::KvEngine& engine, Tally* files, Tally* slices,
                    std::vector<std::pair<uint64_t, uint32_t>>* garbage) {
  *files = *slices = Tally{};
  if (garbage) garbage->clear();
  RETURN_IF_ERROR(meta::scan::ForEachInRange(
      engine, "D", "E", [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
        meta::Ino ino;
        uint64_t len;
        if (meta::schema::ParseDeletedFileKey(kv.key, &ino, &len)) files->Add(len);
        return std::optional<std::string>();
      }));
  return meta::scan::ScanSliceKeys(engine, "G",
                                   [&](uint64_t id, uint32_t size, std::string_view) -> Status {
                                     slices->Add(size);
                                     if (garbage) garbage->emplace_back(id, size);
                                     return Status::OK();
                                   });
}

// One gc run: the state its phases share.
class GcRun {
 public:
  GcRun(ToolVolume& v, const GcArgs& a, int64_t age_seconds)
      : c_(*v.client),
        a_(a),
        store_(*v.store),
        prefix_(v.block_prefix),
        block_size_(c_.volume().block_size()) {
    cutoff_ns_ = c_.clock().NowNanos() - age_seconds * 1000000000LL;  // from gc's start
  }

  Status Run() {
    Status s = Phases();
    if (!s.ok()) {
      progress_.Abandon();  // the error is the one line on stderr
      return s;
    }
    progress_.Finish();  // its last line on stderr, before the report
    Report();
    return delete_error_;
  }

 private:
  Status Phases() {
    // Rule 1: the counter before the metadata scan.
    ASSIGN_OR_RETURN(next_slice_, meta::scan::ReadCounter(c_.engine(), "nextSlice"));
    RETURN_IF_ERROR(CountPending(c_.engine(), &files_, &pending_, nullptr));
    files_before_ = files_;
    pending_before_ = pending_;
    RETURN_IF_ERROR(CountStaged());
    if (a_.del) {
      progress_.SetStage("deleting pending");
      RETURN_IF_ERROR(RunDeleter());
    }
    RETURN_IF_ERROR(CountPending(c_.engine(), &files_, &pending_, &garbage_));
    progress_.SetStage("scanning metadata");
    RETURN_IF_ERROR(CollectReferenced());
    progress_.SetStage("listing the store");
    Status listing = ForEachChunkObject(
        store_, prefix_,
        [&](const object::ObjectInfo& info, const std::optional<chunk::BlockKeyParts>& parts) {
          return Classify(info, parts);
        });
    if (!listing.ok()) return listing.WithContext("listing the store");
    Flush();
    return Status::OK();
  }

  // Blocks staged on live writeback sessions' disks (their records, as of the last
  // heartbeat): referenced but not in the store yet, so nothing here can delete them; they
  // are reported so that "pending upload" is not mistaken for lost.
  Status CountStaged() {
    ASSIGN_OR_RETURN(auto sessions, c_.volume().meta()->ListSessions());
    const int64_t now = c_.clock().NowNanos() / 1000000000;
    for (const auto& s : sessions) {
      if (s.expire_unix < now || !s.staging.enabled) continue;
      staged_.n += s.staging.blocks;
      staged_.bytes += s.staging.bytes;
    }
    return Status::OK();
  }

  // The deleter's own work first, as the mounts run it: expand deleted files, delete the
  // blocks of unreferenced slices. Each pass handles up to 1000 of each; stop when a pass
  // changes nothing (what is left, if anything, is reported).
  Status RunDeleter() {
    while (true) {
      const uint64_t files_left = files_.n, pending_left = pending_.n;
      auto done = c_.volume().chunk_store()->CollectGarbage(1000);
      if (!done.ok()) return done.status().WithContext("pending deletions");
      RETURN_IF_ERROR(CountPending(c_.engine(), &files_, &pending_, nullptr));
      if ((files_.n == 0 && pending_.n == 0) ||
          (*done == 0 && files_.n == files_left && pending_.n == pending_left)) {
        return Status::OK();
      }
    }
  }

  // Every slice the metadata references (live files and files pending deletion).
  Status CollectReferenced() {
    Status s = meta::scan::ScanInodes(c_.engine(), [&](meta::scan::InodeGroup& g) -> Status {
      for (const meta::Slice& sl : g.slices) slices_.Add(sl.id, sl.size, g.ino);
      return Status::OK();
    });
    if (!s.ok()) return s.WithContext("metadata scan");
    slices_.Finish();
    return Status::OK();
  }

  Status Classify(const object::ObjectInfo& info,
                  const std::optional<chunk::BlockKeyParts>& parts) {
    listed_.Add(info.size);
    objects_->Add(1);
    bytes_->Add(info.size);
    if (!parts) {
      foreign_.Add(info.size);  // rule 3
      std::printf("other %s %llu\n", info.key.c_str(), static_cast<unsigned long long>(info.size));
      return Status::OK();
    }
    const meta::scan::SliceTable::Entry* e = slices_.Find(parts->slice_id);
    if (e != nullptr && IsBlockOf(*e, *parts, block_size_)) {
      live_.Add(info.size);
      return Status::OK();
    }
    auto g = std::lower_bound(garbage_.begin(), garbage_.end(),
                              std::make_pair(parts->slice_id, uint32_t{0}));
    if (g != garbage_.end() && g->first == parts->slice_id) {
      pending_blocks_.Add(info.size);  // the deleter's (a G record)
    } else if (parts->slice_id >= next_slice_) {
      in_flight_.Add(info.size);  // rule 1
    } else if (info.mtime_ns == 0 || info.mtime_ns > cutoff_ns_) {
      young_.Add(info.size);  // rule 2 (an unknown mtime is never old enough)
    } else {
      leaked_.Add(info.size);
      std::printf("unreferenced %s %llu\n", info.key.c_str(),
                  static_cast<unsigned long long>(info.size));
      batch_.push_back(info.key);
      if (batch_.size() >= 1000) Flush();
    }
    return Status::OK();
  }

  // Deletes the batch (with --delete); memory stays one batch whatever the garbage.
  void Flush() {
    if (a_.del && !batch_.empty()) {
      Status s = DeleteAll(store_, batch_, a_.threads);
      if (!s.ok() && delete_error_.ok()) delete_error_ = s;
      if (s.ok()) deleted_->Add(batch_.size());
    }
    batch_.clear();
  }

  void Report() const {
    auto line = [](const std::string& what, const Tally& t, const std::string& tail) {
      std::printf("gc: %s: %llu, %s%s\n", what.c_str(), static_cast<unsigned long long>(t.n),
                  FormatBytes(t.bytes).c_str(), tail.c_str());
    };
    const std::string todo = a_.del ? "" : " (run with --delete to remove)";
    line("objects under chunks/", listed_, "");
    line("blocks of referenced slices", live_, "");
    line("unreferenced blocks older than " + a_.age, leaked_,
         a_.del ? (delete_error_.ok() ? " (deleted)" : " (deletion failed)") : todo);
    line("kept: unreferenced, younger than " + a_.age, young_, "");
    line("kept: slice id at or above the slice counter (upload in flight)", in_flight_, "");
    line("slices pending deletion", a_.del ? pending_before_ : pending_,
         a_.del ? " (deleted; " + std::to_string(pending_.n) + " left)" : todo);
    line("blocks of slices pending deletion still in the store", pending_blocks_, "");
    line("deleted files pending cleanup", a_.del ? files_before_ : files_,
         a_.del ? " (released; " + std::to_string(files_.n) + " left)" : todo);
    line("other objects under chunks/ (never deleted)", foreign_, "");
    line("staged on live writeback sessions (pending upload, not in the store yet)", staged_,
         "");
    std::printf(
        "gc: multipart uploads: not listed (the store interface cannot list them; "
        "StrataFS writes blocks with single PUTs)\n");
  }

  client::Client& c_;
  const GcArgs& a_;
  object::ObjectStore& store_;
  const std::string prefix_;
  const uint32_t block_size_;
  int64_t cutoff_ns_ = 0;
  uint64_t next_slice_ = 0;
  meta::scan::SliceTable slices_;
  std::vector<std::pair<uint64_t, uint32_t>> garbage_;  // G records left, in (id, size) order
  Tally files_, pending_, files_before_, pending_before_;
  Tally listed_, live_, pending_blocks_, in_flight_, young_, leaked_, foreign_, staged_;
  std::vector<std::string> batch_;
  Status delete_error_;
  // The shared display (common/progress.h): listed objects and bytes, deleted blocks.
  Progress progress_{"gc", {}};
  Progress::Counter* objects_ = progress_.AddCounter("objects");
  Progress::Counter* bytes_ = progress_.AddCounter("bytes", Progress::Unit::kBytes);
  Progress::Counter* deleted_ = progress_.AddCounter("deleted");
};

void RunGc(const client::Registries& registries, const GcArgs& a) {
  auto age = ParseAge(a.age);
  if (!age.ok()) return Error("gc", age.status());
  if (a.threads < 1 || a.threads > 256) {
    return Error("gc", Status::InvalidArgument("--threads must be 1..256"));
  }
  auto opened = OpenToolVolume(registries, a.meta_url, a.del);
  if (!opened.ok()) return Error("gc", opened.status());
  GcRun run(*opened, a, *age);
  if (Status s = run.Run(); !s.ok()) return Error("gc", s);
}

}  // namespace

void RegisterGc(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<GcArgs>();
  CLI::App* cmd = app.add_subcommand("gc", "Find (and delete) objects no metadata references");
  cmd->add_option("META_URL", a->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  cmd->add_flag("--delete", a->del, "Delete what was found (default: only report)");
  cmd->add_option("--threads", a->threads, "Parallel deletes (default 4)");
  cmd->add_option("--age", a->age, "Safety window: keep objects younger than this (default 1h)");
  cmd->callback([a, reg = &registries] { RunGc(*reg, *a); });
}

}  // namespace strata::cli

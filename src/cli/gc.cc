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
// Multipart uploads: the store interface cannot list them, and StrataFS writes every block
// with one PUT, so none are left by a client; the line says so. file:// temporary files of a
// killed Put are not listed by the store (docs/format/file-store.md).
//
// Exit status: 0 done (whatever was found), 2 errors (one line on stderr; nothing deleted
// when the error came before the deletion phase).
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

void RunGc(const client::Registries& registries, const GcArgs& a) {
  auto age = ParseAge(a.age);
  if (!age.ok()) return Error("gc", age.status());
  if (a.threads < 1 || a.threads > 256) {
    return Error("gc", Status::InvalidArgument("--threads must be 1..256"));
  }
  auto client = OpenToolClient(registries, a.meta_url, a.del);
  if (!client.ok()) return Error("gc", client.status());
  client::Client& c = **client;
  kv::KvEngine& engine = c.engine();
  const int64_t started_ns = c.clock().NowNanos();
  const int64_t cutoff_ns = started_ns - *age * 1000000000LL;
  const std::string age_text = a.age;

  // Rule 1: the counter before the scan.
  auto next_slice = meta::scan::ReadCounter(engine, "nextSlice");
  if (!next_slice.ok()) return Error("gc", next_slice.status());

  Tally files, pending;
  if (Status s = CountPending(engine, &files, &pending, nullptr); !s.ok()) return Error("gc", s);
  const Tally files_before = files, pending_before = pending;
  if (a.del) {
    // The deleter's own work first: expand deleted files, delete their slices' blocks.
    // Each pass expands up to 1000 deleted files and deletes up to 1000 slices; stop when a
    // pass changes nothing (what is left, if anything, is reported below).
    while (true) {
      const uint64_t files_left = files.n, pending_left = pending.n;
      auto done = c.volume().chunk_store()->CollectGarbage(1000);
      if (!done.ok()) return Error("gc: pending deletions", done.status());
      if (Status s = CountPending(engine, &files, &pending, nullptr); !s.ok()) {
        return Error("gc", s);
      }
      if ((files.n == 0 && pending.n == 0) ||
          (*done == 0 && files.n == files_left && pending.n == pending_left)) {
        break;
      }
    }
  }
  std::vector<std::pair<uint64_t, uint32_t>> garbage;  // G records left, sorted by id
  if (Status s = CountPending(engine, &files, &pending, &garbage); !s.ok()) return Error("gc", s);

  // Every slice the metadata references (live files and files pending deletion).
  meta::scan::SliceTable slices;
  Status scanned = meta::scan::ScanInodes(engine, [&](meta::scan::InodeGroup& g) -> Status {
    for (const meta::Slice& s : g.slices) slices.Add(s.id, s.size, g.ino);
    return Status::OK();
  });
  if (!scanned.ok()) return Error("gc: metadata scan", scanned);
  slices.Finish();

  object::ObjectStore& store = ToolStore(c);
  const uint32_t bs = c.volume().block_size();
  Tally listed, live, pending_blocks, in_flight, young, leaked, foreign;
  std::vector<std::string> batch;
  Status delete_error;
  auto flush = [&]() {
    if (a.del && !batch.empty()) {
      Status s = DeleteAll(store, batch, a.threads);
      if (!s.ok() && delete_error.ok()) delete_error = s;
    }
    batch.clear();
  };
  Status listing = ForEachChunkObject(
      store, BlockPrefix(c),
      [&](const object::ObjectInfo& info,
          const std::optional<chunk::BlockKeyParts>& parts) -> Status {
        listed.Add(info.size);
        if (!parts) {
          foreign.Add(info.size);
          std::printf("other %s %llu\n", info.key.c_str(),
                      static_cast<unsigned long long>(info.size));
          return Status::OK();
        }
        const meta::scan::SliceTable::Entry* e = slices.Find(parts->slice_id);
        if (e != nullptr && IsBlockOf(*e, *parts, bs)) {
          live.Add(info.size);
          return Status::OK();
        }
        auto g = std::lower_bound(garbage.begin(), garbage.end(),
                                  std::make_pair(parts->slice_id, uint32_t{0}));
        if (g != garbage.end() && g->first == parts->slice_id) {
          pending_blocks.Add(info.size);  // the deleter's (G record)
          return Status::OK();
        }
        if (parts->slice_id >= *next_slice) {
          in_flight.Add(info.size);  // rule 1
          return Status::OK();
        }
        if (info.mtime_ns == 0 || info.mtime_ns > cutoff_ns) {
          young.Add(info.size);  // rule 2 (an unknown mtime is never old enough)
          return Status::OK();
        }
        leaked.Add(info.size);
        std::printf("unreferenced %s %llu\n", info.key.c_str(),
                    static_cast<unsigned long long>(info.size));
        batch.push_back(info.key);
        if (batch.size() >= 1000) flush();
        return Status::OK();
      });
  if (!listing.ok()) return Error("gc: listing the store", listing);
  flush();

  auto line = [](const char* what, const Tally& t, const std::string& tail) {
    std::printf("gc: %s: %llu, %s%s\n", what, static_cast<unsigned long long>(t.n),
                HumanBytes(t.bytes).c_str(), tail.c_str());
  };
  const std::string todo = a.del ? "" : " (run with --delete to remove)";
  line("objects under chunks/", listed, "");
  line("blocks of referenced slices", live, "");
  line(("unreferenced blocks older than " + age_text).c_str(), leaked,
       a.del ? (delete_error.ok() ? " (deleted)" : " (deletion failed)") : todo);
  line(("kept: unreferenced, younger than " + age_text).c_str(), young, "");
  line("kept: slice id at or above the slice counter (upload in flight)", in_flight, "");
  line("slices pending deletion", a.del ? pending_before : pending,
       a.del ? " (deleted; " + std::to_string(pending.n) + " left)" : todo);
  line("blocks of slices pending deletion still in the store", pending_blocks, "");
  line("deleted files pending cleanup", a.del ? files_before : files,
       a.del ? " (released; " + std::to_string(files.n) + " left)" : todo);
  line("other objects under chunks/ (never deleted)", foreign, "");
  std::printf("gc: multipart uploads: not listed (the store interface cannot list them; "
              "StrataFS writes blocks with single PUTs)\n");
  if (!delete_error.ok()) return Error("gc", delete_error);
}

}  // namespace

void RegisterGc(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<GcArgs>();
  CLI::App* cmd = app.add_subcommand("gc", "Find (and delete) objects no metadata references");
  cmd->add_option("META_URL", a->meta_url, "Metadata engine URL")->required();
  cmd->add_flag("--delete", a->del, "Delete what was found (default: only report)");
  cmd->add_option("--threads", a->threads, "Parallel deletes (default 4)");
  cmd->add_option("--age", a->age, "Safety window: keep objects younger than this (default 1h)");
  cmd->callback([a, reg = &registries] { RunGc(*reg, *a); });
}

}  // namespace strata::cli

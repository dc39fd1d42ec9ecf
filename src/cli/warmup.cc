// strata warmup PATH... [--threads N] [--check | --evict]: fills the caches of the StrataFS
// mount holding PATH with the blocks of the files under PATH (files named directly, or every
// regular file below a directory; symlinks are not followed). For a cache group member the
// blocks go to their owners in the group, otherwise into the mount's local cache (DESIGN.md
// §7). --check reports how much is cached, --evict drops it (never from the store).
//
// The files are walked here, through the mount; the mount does the block work, one request
// per 64 MiB chunk of a file, --threads at a time (client/control_server.h, client/warmup.h).
// One progress line (common/progress.h) and a summary; exit 1 when anything failed.
#include <sys/stat.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/mount_control.h"
#include "common/progress.h"
#include "common/units.h"
#include "meta/types.h"

namespace strata::cli {
namespace {

struct WarmupArgs {
  std::vector<std::string> paths;
  int threads = 8;
  bool check = false;
  bool evict = false;
};

struct Item {
  uint64_t ino = 0;
  uint32_t chunk = 0;
  uint64_t bytes = 0;  // logical bytes of this chunk of the file
  bool last = false;   // the file's last chunk (counts the file as done)
};

// Adds the chunks of the regular file at `p` (already stat'ed) to `items`.
void AddFile(const struct stat& st, std::vector<Item>* items, uint64_t* total) {
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const uint64_t chunks = (size + meta::kChunkSize - 1) / meta::kChunkSize;
  for (uint64_t c = 0; c < chunks; ++c) {
    const uint64_t bytes = std::min<uint64_t>(meta::kChunkSize, size - c * meta::kChunkSize);
    items->push_back({static_cast<uint64_t>(st.st_ino), static_cast<uint32_t>(c), bytes,
                      c + 1 == chunks});
  }
  *total += size;
}

// Lists the files under the paths; all must be in one mount. Returns the error line.
Status Collect(const WarmupArgs& a, MountControl* control, std::vector<Item>* items,
               uint64_t* files, uint64_t* total) {
  for (const std::string& path : a.paths) {
    ASSIGN_OR_RETURN(MountControl m, MountControl::Find(path));
    if (control->mount_point.empty()) {
      *control = m;
    } else if (m.mount_point != control->mount_point) {
      return Status::InvalidArgument(path + " is in another mount (" + m.mount_point + ") than " +
                                     control->mount_point);
    }
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      return Status::NotFound(path + ": " + std::strerror(errno));
    }
    if (S_ISREG(st.st_mode)) {
      AddFile(st, items, total);
      ++*files;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument(path + " is neither a regular file nor a directory");
    }
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(path, ec), end;
    if (ec) return Status::IOError(path + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return Status::IOError(path + ": " + ec.message());
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      if (lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      AddFile(st, items, total);
      ++*files;
    }
  }
  return Status::OK();
}

int Run(const WarmupArgs& a) {
  const char* mode = a.check ? "check" : a.evict ? "evict" : "fill";
  MountControl control;
  std::vector<Item> items;
  uint64_t files = 0, total = 0;
  Status s = Collect(a, &control, &items, &files, &total);
  if (!s.ok()) {
    std::fprintf(stderr, "strata warmup: %s\n", s.ToString().c_str());
    return 1;
  }
  Progress progress(a.check ? "warmup --check" : a.evict ? "warmup --evict" : "warmup", {});
  Progress::Counter* bytes = progress.AddCounter("bytes", Progress::Unit::kBytes, total);
  Progress::Counter* done_files = progress.AddCounter("files", Progress::Unit::kCount, files);
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> blocks{0}, block_bytes{0}, cached_blocks{0}, cached_bytes{0}, failed{0};
  std::mutex mu;
  std::string first_error;
  auto note = [&](const std::string& e) {
    std::lock_guard<std::mutex> l(mu);
    if (first_error.empty()) first_error = e;
  };
  auto worker = [&] {
    auto cli = control.Connect();
    for (size_t i = next++; i < items.size(); i = next++) {
      const Item& it = items[i];
      const std::string target = "/v1/warmup?ino=" + std::to_string(it.ino) +
                                 "&chunk=" + std::to_string(it.chunk) + "&mode=" + mode;
      auto r = control.Call(*cli, "POST", target);
      if (!r.ok()) {
        failed++;
        note(r.status().ToString());
      } else {
        auto j = nlohmann::json::parse(*r, nullptr, false);
        blocks += j.value("blocks", uint64_t{0});
        block_bytes += j.value("bytes", uint64_t{0});
        cached_blocks += j.value("cached_blocks", uint64_t{0});
        cached_bytes += j.value("cached_bytes", uint64_t{0});
        const uint64_t f = j.value("failed", uint64_t{0});
        failed += f;
        if (f > 0) note(j.value("error", std::string("block failed")));
      }
      bytes->Add(it.bytes);
      if (it.last) done_files->Add(1);
    }
  };
  std::vector<std::thread> pool;
  const int n = std::max(1, std::min<int>(a.threads, static_cast<int>(items.size())));
  for (int i = 0; i < n; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  progress.Finish();
  const std::string sizes = FormatBytes(block_bytes) + " in " + FormatCount(blocks) + " blocks";
  if (a.check) {
    const double pct = block_bytes ? 100.0 * static_cast<double>(cached_bytes) /
                                         static_cast<double>(block_bytes)
                                   : 100.0;
    std::printf("%s files: %s of %s cached (%.1f%%), %s of %s blocks\n",
                FormatCount(files).c_str(), FormatBytes(cached_bytes).c_str(),
                FormatBytes(block_bytes).c_str(), pct, FormatCount(cached_blocks).c_str(),
                FormatCount(blocks).c_str());
  } else if (a.evict) {
    std::printf("%s files: evicted %s\n", FormatCount(files).c_str(), sizes.c_str());
  } else {
    std::printf("%s files: %s warm (%s were cached already)\n", FormatCount(files).c_str(),
                sizes.c_str(), FormatBytes(cached_bytes).c_str());
  }
  if (failed > 0) {
    std::fprintf(stderr, "strata warmup: %s failed; first: %s\n", FormatCount(failed).c_str(),
                 first_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterWarmup(CLI::App& app) {
  auto a = std::make_shared<WarmupArgs>();
  CLI::App* cmd = app.add_subcommand(
      "warmup", "Fill the cache (the group's, for a group member) with the files under PATH");
  cmd->add_option("PATH", a->paths, "Files or directories inside a StrataFS mount")->required();
  cmd->add_option("--threads", a->threads, "Chunks worked on at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 32).description(""));
  auto* check = cmd->add_flag("--check", a->check, "Only report how much is cached");
  cmd->add_flag("--evict", a->evict, "Drop the blocks from the caches instead")->excludes(check);
  cmd->callback([a] { SetExitCode(Run(*a)); });
}

}  // namespace strata::cli

// strata mount META_URL MOUNTPOINT: opens the volume and serves it with FUSE until unmounted.
// Foreground by default; -d forks a daemon and returns only when the mount is ready (exit 0)
// or has failed (the child's one-line reason, exit 1), reported through a pipe. SIGINT,
// SIGTERM and SIGHUP unmount cleanly: every open file is flushed first.
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "client/client.h"
#include "client/control_server.h"
#include "client/metrics_server.h"
#include "common/logging.h"
#include "common/uri.h"
#include "fuse/fuse_server.h"

namespace strata::cli {
namespace {

// What `strata mount` is given: the client's options tree (flags bind straight to its
// fields) plus what belongs to the FUSE adapter and to this process.
struct MountArgs {
  client::ClientOptions client;
  std::string mount_point;
  bool daemon = false;
  std::string log_level = "info";
  std::string metrics;  // --metrics HOST:PORT ("" = off)
  std::vector<std::string> fuse_opts;
  bool no_default_permissions = false;
  fuse::FuseOptions fuse;
};

// "300M", "1G", "512K", "4096B"; a bare number means MiB (as --cache-size/--buffer-size do in
// similar tools).
Result<uint64_t> ParseMiBSize(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  if (pos == 0) return Status::InvalidArgument("bad size '" + text + "' (use e.g. 300M, 1G)");
  uint64_t n = std::stoull(text.substr(0, pos));
  std::string unit = text.substr(pos);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && unit.back() == 'B' && unit != "B") unit.pop_back();
  if (unit.size() > 1 && unit.back() == 'I') unit.pop_back();
  if (unit.empty() || unit == "M") return n << 20;
  if (unit == "B") return n;
  if (unit == "K") return n << 10;
  if (unit == "G") return n << 30;
  if (unit == "T") return n << 40;
  return Status::InvalidArgument("bad size unit in '" + text + "' (use K, M, G or T)");
}

// Splits -o a,b=c,d into its options; allow_other and ro are recognised (ro makes the whole
// client read-only: no session, no background jobs, EROFS on changes), the rest goes to
// libfuse.
void SplitFuseOptions(const std::vector<std::string>& in, fuse::FuseOptions& out,
                      bool* read_only) {
  for (const std::string& group : in) {
    std::stringstream ss(group);
    std::string opt;
    while (std::getline(ss, opt, ',')) {
      if (opt.empty()) continue;
      if (opt == "allow_other") {
        out.allow_other = true;
      } else if (opt == "ro") {
        *read_only = true;  // FuseServer adds "ro" for a read-only volume
      } else if (opt == "rw") {
        // the default
      } else {
        out.extra.push_back(opt);
      }
    }
  }
}

// The data path allocates a 4 MiB buffer per block (fetched, cached, written) and frees it
// soon after. With glibc's defaults each one is fresh memory (mmap'd, or trimmed off the heap
// top and faulted in again): a cold 1 GiB read took ~180,000 page faults. Keeping up to
// 256 MiB of freed heap per arena and four arenas (instead of 8 per core) halves the faults
// and lowered the mount's CPU time per GiB read by ~25% (bench/RESULTS.md); peak RSS stays
// bounded by the caches' and buffers' own limits (it fell, with fewer arenas).
void TuneAllocator() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_ARENA_MAX, 4);
}

// Opens the volume and mounts it. On success, calls ready() and serves until unmounted.
// Returns the error (for the pipe or stderr) when anything fails before serving.
Status Serve(const client::Registries& registries, const MountArgs& a,
             const std::function<void()>& ready) {
  TuneAllocator();  // before any thread starts
  fuse::FuseOptions fo = a.fuse;
  fo.default_permissions = !a.no_default_permissions;
  // A file system with per-user permissions is for every user: when root mounts it, other
  // users may enter it (permissions are still checked). Unprivileged mounts need
  // user_allow_other in /etc/fuse.conf, so for them it stays opt-in with -o allow_other.
  fo.allow_other = geteuid() == 0;
  client::ClientOptions co = a.client;
  SplitFuseOptions(a.fuse_opts, fo, &co.volume.read_only);
  RETURN_IF_ERROR(fo.Validate());
  RETURN_IF_ERROR(fuse::CheckMountPoint(a.mount_point));

  co.volume.mount_point = a.mount_point;
  // Absent names of directories this mount keeps changing are answered locally for as long
  // as the kernel may cache attributes (at most 1 s): meta/dir_names_cache.h.
  co.meta.dir_names_cache_ms =
      static_cast<int>(std::clamp(fo.attr_timeout * 1000.0, 0.0, 1000.0));
  if (!a.metrics.empty()) {
    std::string host;
    int port = 0;
    RETURN_IF_ERROR(client::ParseHostPort(a.metrics, &host, &port));  // before mounting
  }
  ASSIGN_OR_RETURN(auto c, client::Client::Open(registries, co));
  std::unique_ptr<client::MetricsServer> metrics;  // destroyed before the client it reads
  if (!a.metrics.empty()) {
    ASSIGN_OR_RETURN(metrics, client::MetricsServer::Start(
                                  a.metrics, [cl = c.get()] { return cl->RenderMetrics(); }));
  }
  // strata warmup / strata cache status reach the mount's caches here. Without it the mount
  // still works: say so and go on.
  std::unique_ptr<client::ControlServer> control;  // destroyed before the client it reads
  auto ctl = client::ControlServer::Start(c.get(), a.mount_point);
  if (ctl.ok()) {
    control = std::move(*ctl);
  } else {
    LOG_WARN("no control endpoint (strata warmup and cache status will not reach this mount): {}",
             ctl.status().ToString());
  }
  fo.fsname = "strata:" + c->volume().name();
  fo.metrics = &c->metrics();
  ASSIGN_OR_RETURN(auto server, fuse::FuseServer::Mount(&c->volume(), a.mount_point, fo));
  LOG_INFO("mounted {} at {}", c->volume().name(), a.mount_point);
  ready();
  Status run = server->Run();
  // Unmounting: land every open file's data before the mount goes away.
  Status flushed = c->volume().FlushAll();
  if (!flushed.ok()) LOG_ERROR("flushing open files at unmount: {}", flushed.ToString());
  server.reset();  // unmounts
  control.reset();
  metrics.reset();
  c.reset();
  LOG_INFO("unmounted {}", a.mount_point);
  logging::Flush();
  return run;
}

// --log-level and --log for this process (stderr when no file is given).
Status StartLogging(const MountArgs& a) {
  logging::LogOptions lo = a.client.log;
  ASSIGN_OR_RETURN(lo.level, logging::ParseLogLevel(a.log_level));
  return logging::InitLogging(lo);
}

int RunForeground(const client::Registries& registries, const MountArgs& a) {
  Status s = StartLogging(a);
  if (s.ok()) s = Serve(registries, a, [&] {
    auto uri = ParseUri(a.client.meta_url);  // never print a password
    std::string shown = uri.ok() ? uri->Masked() : "volume";
    std::fprintf(stderr, "strata: %s mounted at %s (Ctrl-C or `strata umount %s` to stop)\n",
                 shown.c_str(), a.mount_point.c_str(), a.mount_point.c_str());
  });
  if (!s.ok()) {
    std::fprintf(stderr, "strata mount: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

// -d: the child reports "OK" or the error text through the pipe, then serves.
int RunDaemon(const client::Registries& registries, const MountArgs& a) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("strata mount: pipe");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("strata mount: fork");
    return 1;
  }
  if (pid == 0) {
    close(fds[0]);
    setsid();
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, 0);
    // Without --log the background process still says what went wrong: in DefaultLogFile().
    int out = open(a.client.log.file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    if (chdir("/") != 0) {
      // Deliberately ignored: "/" always exists; the mount point is absolute.
    }
    int wfd = fds[1];
    Status s = StartLogging(a);
    if (s.ok()) s = Serve(registries, a, [&] {
      ssize_t n = write(wfd, "OK", 2);
      (void)n;  // the parent reads EOF as failure if this is lost
      close(wfd);
      wfd = -1;
    });
    if (!s.ok()) {
      std::string msg = s.ToString();
      if (wfd >= 0) {
        ssize_t n = write(wfd, msg.data(), msg.size());
        (void)n;
      }
      LOG_ERROR("mount failed: {}", msg);
      logging::Flush();
      _exit(1);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string reply;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) reply.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  if (reply == "OK") {
    std::printf("strata: mounted at %s (pid %d); `strata umount %s` to unmount\n",
                a.mount_point.c_str(), static_cast<int>(pid), a.mount_point.c_str());
    return 0;
  }
  if (reply.empty()) {
    int st = 0;
    waitpid(pid, &st, 0);
    reply = "the mount process exited before the mount was ready";
  }
  std::fprintf(stderr, "strata mount: %s\n", reply.c_str());
  return 1;
}

// A size flag ("300M", "1G"; a bare number is MiB) written straight into `field`.
void AddSizeOption(CLI::App* cmd, const std::string& name, uint64_t* field, uint64_t min,
                   const std::string& help) {
  cmd->add_option_function<std::string>(
         name,
         [field, name, min](const std::string& v) {
           auto n = ParseMiBSize(v);
           if (!n.ok()) throw CLI::ValidationError(name, std::string(n.status().message()));
           if (*n < min) {
             throw CLI::ValidationError(name, "must be at least " + std::to_string(min >> 20) +
                                                  " MiB");
           }
           *field = *n;
         },
         help)
      ->default_str(std::to_string(*field >> 20) + "M");
}

// Seconds as a double, into a milliseconds field.
void AddSecondsOption(CLI::App* cmd, const std::string& name, std::chrono::milliseconds* field,
                      const std::string& help) {
  cmd->add_option_function<double>(
         name,
         [field, name](double v) {
           if (!(v >= 0.1 && v <= 86400)) {
             throw CLI::ValidationError(name, "must be between 0.1 and 86400 seconds");
           }
           *field = std::chrono::milliseconds(static_cast<int64_t>(v * 1000));
         },
         help)
      ->default_str(std::to_string(field->count() / 1000));
}

// Seconds as a double (0 allowed), into a milliseconds field.
void AddDelayOption(CLI::App* cmd, const std::string& name, std::chrono::milliseconds* field,
                    const std::string& help) {
  cmd->add_option_function<double>(
         name,
         [field, name](double v) {
           if (!(v >= 0 && v <= 86400)) {
             throw CLI::ValidationError(name, "must be between 0 and 86400 seconds");
           }
           *field = std::chrono::milliseconds(static_cast<int64_t>(v * 1000));
         },
         help)
      ->default_str(std::to_string(field->count() / 1000));
}

std::string DefaultLogFile() {
  if (geteuid() == 0) return "/var/log/strata.log";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.strata/strata.log";
}

}  // namespace

void RegisterMount(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<MountArgs>();
  client::ClientOptions& o = a->client;
  CLI::App* cmd = app.add_subcommand("mount", "Mount a volume (foreground unless -d)");
  cmd->add_option("META_URL", o.meta_url, "Metadata URL, e.g. sqlite3:///var/lib/strata/meta.db")
      ->transform(MetaUrlFromEnv())
      ->required();
  cmd->add_option("MOUNTPOINT", a->mount_point, "Existing empty directory")->required();
  cmd->add_flag("-d,--background", a->daemon, "Run in the background once mounted");
  cmd->add_option("--log", o.log.file,
                  "Log file (default: stderr in the foreground; with -d " + DefaultLogFile() +
                      ")");
  cmd->add_option("--log-level", a->log_level, "debug, info, warn, error or off")
      ->capture_default_str();
  cmd->add_option("--metrics", a->metrics,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics (default: off)");
  AddSecondsOption(cmd, "--meta-timeout", &o.io.meta_timeout,
                   "Give up on a metadata operation after this many seconds (EIO)");
  AddSecondsOption(cmd, "--io-timeout", &o.io.io_timeout,
                   "Give up on an object store operation after this many seconds (EIO)");
  cmd->add_option("--io-retries", o.io.io_retries, "Attempts per object store operation")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000).description(""));
  cmd->add_option("--cache-dir", o.cache.cache_dir, "Local disk cache directory (default: none)");
  AddSizeOption(cmd, "--cache-size", &o.cache.cache_size, 1 << 20,
                "Disk cache size, e.g. 10G (bare number: MiB)");
  cmd->add_option("--free-space-ratio", o.cache.free_space_ratio,
                  "Keep this fraction of the cache disk free (0..0.9)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9).description(""));
  AddSizeOption(cmd, "--buffer-size", &o.writer.buffer_size, 8 << 20,
                "Write buffer for all files, e.g. 300M");
  cmd->add_option("--max-uploads", o.writer.max_uploads, "Concurrent block uploads")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024).description(""));
  cmd->add_flag("--writeback", o.writeback,
                "Stage written blocks on local disk and upload them in the background: "
                "close()/fsync() wait for the local disk and the metadata commit only");
  cmd->add_option("--writeback-dir", o.staging.dir,
                  "Staging directory for --writeback (default: CACHE_DIR/writeback-UUID)");
  AddSizeOption(cmd, "--writeback-limit", &o.staging.limit, 1 << 20,
                "Staged bytes at most before writers wait, e.g. 10G (bare number: MiB)");
  AddSizeOption(cmd, "--writeback-memory", &o.staging.memory, 0,
                "Staged blocks also kept in memory for their upload, e.g. 64M (0: uploads read "
                "the staged files back)");
  cmd->add_option("--uploads-while-writing", o.staging.foreground_uploaders,
                  "With --writeback: concurrent uploads while writers are staging (all "
                  "--max-uploads when idle, draining, or staging is half full)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024).description(""));
  AddDelayOption(cmd, "--upload-delay", &o.staging.upload_delay,
                 "Seconds a staged block waits before its upload (files deleted sooner never "
                 "reach the store)");
  cmd->add_option_function<double>(
         "--staged-wait",
         [&o](double v) {
           if (!(v >= 0 && v <= 86400)) {
             throw CLI::ValidationError("--staged-wait", "must be between 0 and 86400 seconds");
           }
           o.reader.missing_block_wait_ms = static_cast<int>(v * 1000);
         },
         "Seconds a read waits for a block that another mount has not uploaded yet (then EIO)")
      ->default_str(std::to_string(o.reader.missing_block_wait_ms / 1000));
  cmd->add_option("--max-downloads", o.reader.max_downloads, "Concurrent block downloads")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024).description(""));
  cmd->add_option("--attr-timeout", a->fuse.attr_timeout, "Kernel attribute cache, seconds")
      ->capture_default_str();
  cmd->add_option("--entry-timeout", a->fuse.entry_timeout, "Kernel name cache, seconds")
      ->capture_default_str();
  cmd->add_option("--negative-timeout", a->fuse.negative_timeout,
                  "Kernel cache of missing names, seconds (0: not cached)")
      ->capture_default_str();
  // Cache group (DESIGN.md §7, docs/format/peer-protocol.md).
  cmd->add_option("--cache-group", o.group.name,
                  "Share caches with the other mounts of this volume naming this group");
  cmd->add_option("--group-listen", o.group.listen,
                  "HOST:PORT the group's peers reach this mount at (default: a free port on "
                  "the primary address)");
  cmd->add_flag("--no-sharing", [a](int64_t) { a->client.group.sharing = false; },
                "Read through the cache group but serve nothing to it");
  cmd->add_flag("--fill-group-on-write", o.group.fill_on_write,
                "Send each block this mount writes to its owner's cache in the group");
  AddSecondsOption(cmd, "--group-timeout", &o.group.timeout,
                   "Skip a cache group peer that has not answered within this many seconds");
  cmd->add_flag("--read-only", o.volume.read_only, "Mount read-only (no session is written)");
  cmd->add_option("--subdir", o.volume.subdir, "Mount this directory of the volume as the root");
  // One value per -o (repeatable), so -o does not swallow META_URL and MOUNTPOINT.
  cmd->add_option("-o", a->fuse_opts, "FUSE options, comma separated (allow_other, ...)")
      ->allow_extra_args(false);
  cmd->add_flag("--writeback-cache", a->fuse.writeback_cache, "Kernel write-back page cache");
  cmd->add_flag("--no-bgjob", [a](int64_t) { a->client.background_jobs = false; },
                "Do not run background cleanup jobs");
  cmd->add_flag("--no-default-permissions", a->no_default_permissions,
                "Leave every permission check to the metadata layer (no kernel checks)");
  cmd->add_option("--threads", a->fuse.max_threads, "FUSE worker threads")->capture_default_str();
  cmd->add_flag("--debug", a->fuse.debug, "Trace FUSE requests on stderr");
  const client::Registries* reg = &registries;
  cmd->callback([a, reg] {
    char real[PATH_MAX];
    if (realpath(a->mount_point.c_str(), real) == nullptr) {
      std::fprintf(stderr, "strata mount: mount point %s does not exist\n",
                   a->mount_point.c_str());
      SetExitCode(1);
      return;
    }
    a->mount_point = real;
    Status url = reg->engines.Check(a->client.meta_url);
    if (!url.ok()) {
      std::fprintf(stderr, "strata mount: %s\n", url.ToString().c_str());
      SetExitCode(1);
      return;
    }
    if (MetaDatabaseMissing(a->client.meta_url)) {  // opening it would create an empty one
      std::fprintf(stderr, "strata mount: volume is not formatted (no database at %s)\n",
                   a->client.meta_url.c_str());
      SetExitCode(1);
      return;
    }
    if (a->daemon && a->client.log.file.empty()) a->client.log.file = DefaultLogFile();
    if (!a->client.writeback && (!a->client.staging.dir.empty())) {
      std::fprintf(stderr, "strata mount: --writeback-dir needs --writeback\n");
      SetExitCode(1);
      return;
    }
    if (!a->client.staging.dir.empty()) {  // -d changes to "/": keep the dir the user meant
      a->client.staging.dir =
          std::filesystem::absolute(a->client.staging.dir).lexically_normal().string();
    }
    SetExitCode(a->daemon ? RunDaemon(*reg, *a) : RunForeground(*reg, *a));
  });
}

}  // namespace strata::cli

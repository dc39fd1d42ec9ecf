// strata mount META_URL MOUNTPOINT: opens the volume and serves it with FUSE until unmounted.
// Foreground by default; -d forks a daemon and returns only when the mount is ready (exit 0)
// or has failed (the child's one-line reason, exit 1), reported through a pipe. SIGINT,
// SIGTERM and SIGHUP unmount cleanly: every open file is flushed first.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "fuse/fuse_server.h"
#include "meta/kv/kv.h"
#include "object/registry.h"
#include "vfs/vfs.h"

namespace strata::cli {
namespace {

struct MountArgs {
  std::string meta_url;
  std::string mount_point;
  bool daemon = false;
  std::string log_file;
  std::string cache_dir;
  std::string cache_size = "1G";
  double free_space_ratio = 0.1;
  std::string buffer_size = "300M";
  int max_uploads = 20;
  double attr_timeout = 1.0;
  double entry_timeout = 1.0;
  double negative_timeout = 0.0;
  bool read_only = false;
  std::string subdir;
  std::vector<std::string> fuse_opts;
  bool writeback_cache = false;
  bool no_bgjob = false;
  bool no_default_permissions = false;
  bool debug = false;
  int threads = 32;
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

// Splits -o a,b=c,d into its options; allow_other is recognised, the rest goes to libfuse.
void SplitFuseOptions(const std::vector<std::string>& in, fuse::FuseOptions& out) {
  for (const std::string& group : in) {
    std::stringstream ss(group);
    std::string opt;
    while (std::getline(ss, opt, ',')) {
      if (opt.empty()) continue;
      if (opt == "allow_other") {
        out.allow_other = true;
      } else if (opt == "ro") {
        // handled by --read-only; keep libfuse's view consistent
        out.extra.push_back(opt);
      } else {
        out.extra.push_back(opt);
      }
    }
  }
}

// Opens the volume and mounts it. On success, calls ready() and serves until unmounted.
// Returns the error (for the pipe or stderr) when anything fails before serving.
Status Serve(const MountArgs& a, const std::function<void()>& ready) {
  kv::KvRegistry engines;
  kv::RegisterMemKv(engines);
  kv::RegisterSqliteKv(engines);
  kv::RegisterRedisKv(engines);
  object::StoreRegistry stores;
  object::RegisterLocalStores(stores);
  object::RegisterS3Stores(stores);

  vfs::VolumeOptions vo;
  vo.mount_point = a.mount_point;
  vo.subdir = a.subdir;
  vo.read_only = a.read_only;
  vo.cache_dir = a.cache_dir;
  ASSIGN_OR_RETURN(vo.cache_size, ParseMiBSize(a.cache_size));
  vo.free_space_ratio = a.free_space_ratio;
  ASSIGN_OR_RETURN(vo.buffer_size, ParseMiBSize(a.buffer_size));
  vo.max_uploads = a.max_uploads;
  vo.background_jobs = !a.no_bgjob;
  RETURN_IF_ERROR(vo.Validate());

  fuse::FuseOptions fo;
  fo.attr_timeout = a.attr_timeout;
  fo.entry_timeout = a.entry_timeout;
  fo.negative_timeout = a.negative_timeout;
  fo.writeback_cache = a.writeback_cache;
  fo.default_permissions = !a.no_default_permissions;
  fo.debug = a.debug;
  fo.max_threads = a.threads;
  // A file system with per-user permissions is for every user: when root mounts it, other
  // users may enter it (permissions are still checked). Unprivileged mounts need
  // user_allow_other in /etc/fuse.conf, so for them it stays opt-in with -o allow_other.
  fo.allow_other = geteuid() == 0;
  SplitFuseOptions(a.fuse_opts, fo);
  RETURN_IF_ERROR(fo.Validate());
  RETURN_IF_ERROR(fuse::CheckMountPoint(a.mount_point));

  auto engine = engines.Open(a.meta_url);
  if (!engine.ok()) return engine.status().WithContext("metadata engine");
  auto volume = vfs::Volume::Open(*engine, stores, vo);
  if (!volume.ok()) {
    if (volume.status().Is(Code::kNotFound) &&
        volume.status().message().find("not formatted") != std::string_view::npos) {
      return Status(Code::kNotFound, "volume is not formatted: run `strata format " +
                                         a.meta_url + " NAME --storage URL` first");
    }
    return volume.status();
  }
  fo.fsname = "strata:" + (*volume)->name();
  ASSIGN_OR_RETURN(auto server, fuse::FuseServer::Mount(volume->get(), a.mount_point, fo));
  ready();
  Status run = server->Run();
  // Unmounting: land every open file's data before the mount goes away.
  Status flushed = (*volume)->FlushAll();
  if (!flushed.ok()) {
    std::fprintf(stderr, "strata mount: flushing at unmount: %s\n", flushed.ToString().c_str());
  }
  server.reset();  // unmounts
  volume->reset();
  return run;
}

int RunForeground(const MountArgs& a) {
  Status s = Serve(a, [&] {
    std::fprintf(stderr, "strata: %s mounted at %s (Ctrl-C or `strata umount %s` to stop)\n",
                 a.meta_url.c_str(), a.mount_point.c_str(), a.mount_point.c_str());
  });
  if (!s.ok()) {
    std::fprintf(stderr, "strata mount: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

// -d: the child reports "OK" or the error text through the pipe, then serves.
int RunDaemon(const MountArgs& a) {
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
    int out = a.log_file.empty() ? open("/dev/null", O_WRONLY)
                                 : open(a.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    if (chdir("/") != 0) {
      // Deliberately ignored: "/" always exists; the mount point is absolute.
    }
    int wfd = fds[1];
    Status s = Serve(a, [&] {
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
      std::fprintf(stderr, "strata mount: %s\n", msg.c_str());
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

}  // namespace

void RegisterMount(CLI::App& app) {
  auto a = std::make_shared<MountArgs>();
  CLI::App* cmd = app.add_subcommand("mount", "Mount a volume (foreground unless -d)");
  cmd->add_option("META_URL", a->meta_url, "Metadata URL, e.g. sqlite3:///var/lib/strata/meta.db")
      ->required();
  cmd->add_option("MOUNTPOINT", a->mount_point, "Existing empty directory")->required();
  cmd->add_flag("-d,--background", a->daemon, "Run in the background once mounted");
  cmd->add_option("--log", a->log_file, "Log file of the background process (default: none)");
  cmd->add_option("--cache-dir", a->cache_dir, "Local disk cache directory (default: none)");
  cmd->add_option("--cache-size", a->cache_size, "Disk cache size, e.g. 10G (bare number: MiB)")
      ->capture_default_str();
  cmd->add_option("--free-space-ratio", a->free_space_ratio,
                  "Keep this fraction of the cache disk free (0..0.9)")
      ->capture_default_str();
  cmd->add_option("--buffer-size", a->buffer_size, "Write buffer for all files, e.g. 300M")
      ->capture_default_str();
  cmd->add_option("--max-uploads", a->max_uploads, "Concurrent block uploads")
      ->capture_default_str();
  cmd->add_option("--attr-timeout", a->attr_timeout, "Kernel attribute cache, seconds")
      ->capture_default_str();
  cmd->add_option("--entry-timeout", a->entry_timeout, "Kernel name cache, seconds")
      ->capture_default_str();
  cmd->add_option("--negative-timeout", a->negative_timeout,
                  "Kernel cache of missing names, seconds (0: not cached)")
      ->capture_default_str();
  cmd->add_flag("--read-only", a->read_only, "Mount read-only (no session is written)");
  cmd->add_option("--subdir", a->subdir, "Mount this directory of the volume as the root");
  // One value per -o (repeatable), so -o does not swallow META_URL and MOUNTPOINT.
  cmd->add_option("-o", a->fuse_opts, "FUSE options, comma separated (allow_other, ...)")
      ->allow_extra_args(false);
  cmd->add_flag("--writeback-cache", a->writeback_cache, "Kernel write-back page cache");
  cmd->add_flag("--no-bgjob", a->no_bgjob, "Do not run background cleanup jobs");
  cmd->add_flag("--no-default-permissions", a->no_default_permissions,
                "Leave every permission check to the metadata layer (no kernel checks)");
  cmd->add_option("--threads", a->threads, "FUSE worker threads")->capture_default_str();
  cmd->add_flag("--debug", a->debug, "Trace FUSE requests on stderr");
  cmd->callback([a] {
    char real[PATH_MAX];
    if (realpath(a->mount_point.c_str(), real) == nullptr) {
      std::fprintf(stderr, "strata mount: mount point %s does not exist\n",
                   a->mount_point.c_str());
      SetExitCode(1);
      return;
    }
    a->mount_point = real;
    SetExitCode(a->daemon ? RunDaemon(*a) : RunForeground(*a));
  });
}

}  // namespace strata::cli

// strata csi --endpoint unix:///path/csi.sock --node-id NODE [--mode node|controller|all]:
// the Kubernetes CSI driver (src/csi/), in the foreground until SIGINT/SIGTERM. Logs to stderr
// (the container's log) at info unless --log/--log-level say otherwise.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "common/logging.h"
#include "csi/server.h"

namespace strata::cli {
namespace {

struct CsiArgs {
  csi::CsiOptions options;
  std::string mode = "all";
  std::string log_file;
  std::string log_level = "info";
};

int RunCsi(const client::Registries& registries, CsiArgs& a) {
  auto mode = csi::ParseMode(a.mode);
  if (!mode.ok()) {
    std::fprintf(stderr, "strata csi: %s\n", std::string(mode.status().message()).c_str());
    return 1;
  }
  a.options.mode = *mode;
  if (Status v = a.options.Validate(); !v.ok()) {
    std::fprintf(stderr, "strata csi: %s\n", std::string(v.message()).c_str());
    return 1;
  }
  logging::LogOptions lo;
  lo.file = a.log_file;
  auto level = logging::ParseLogLevel(a.log_level);
  if (!level.ok()) {
    std::fprintf(stderr, "strata csi: %s\n", std::string(level.status().message()).c_str());
    return 1;
  }
  lo.level = *level;
  if (Status s = logging::InitLogging(lo); !s.ok()) {
    std::fprintf(stderr, "strata csi: %s\n", s.ToString().c_str());
    return 1;
  }
  // Block the stop signals before any thread starts, so that only the waiter below sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto server = csi::CsiServer::Start(a.options, &registries);
  if (!server.ok()) {
    std::fprintf(stderr, "strata csi: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::thread waiter([&stop, s = server->get()] {
    int sig = 0;
    sigwait(&stop, &sig);
    LOG_INFO("csi: signal {}, stopping", sig);
    s->Shutdown();
  });
  (*server)->Wait();
  // Wait returned after Shutdown from the waiter; if it returned otherwise, wake the waiter.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  logging::Flush();
  return 0;
}

}  // namespace

void RegisterCsi(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<CsiArgs>();
  CLI::App* cmd = app.add_subcommand("csi", "Serve the Kubernetes CSI driver on a unix socket");
  cmd->add_option("--endpoint", a->options.endpoint, "unix:///path/to/csi.sock")->required();
  cmd->add_option("--node-id", a->options.node_id,
                  "This node's name (required in node and all modes)");
  cmd->add_option("--mode", a->mode, "node, controller or all")->capture_default_str();
  cmd->add_option("--driver-name", a->options.driver_name, "The CSI driver name")
      ->capture_default_str();
  cmd->add_option("--state-dir", a->options.state_dir,
                  "Where the node keeps its shared mounts (mounts/KEY)")
      ->capture_default_str();
  cmd->add_option("--strata-bin", a->options.strata_bin,
                  "Binary run (as mount.strata) for each shared mount (default: this one)");
  cmd->add_option("--log", a->log_file, "Log file (default: stderr)");
  cmd->add_option("--log-level", a->log_level, "debug, info, warn, error or off")
      ->capture_default_str();
  cmd->callback([a, reg = &registries] { SetExitCode(RunCsi(*reg, *a)); });
}

}  // namespace strata::cli

// strata gateway META_URL HOST:PORT: serves the volume over the S3 REST API (src/gateway/)
// until SIGINT or SIGTERM, then stops gracefully (requests being served finish, open files are
// flushed). Root credentials from --access-key/--secret-key, STRATA_ACCESS_KEY/
// STRATA_SECRET_KEY or --secret-key-file; it refuses to start without them. The user and
// public-prefix administration lives in gateway_admin.cc.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "client/client.h"
#include "client/metrics_server.h"
#include "common/logging.h"
#include "common/uri.h"
#include "gateway/gateway.h"

namespace strata::cli {
namespace {

struct GatewayArgs {
  client::ClientOptions client;
  gateway::GatewayOptions gw;
  std::string secret_key_file;
  std::string log_level = "info";
  std::string metrics;
};

Status LoadCredentials(GatewayArgs& a) {
  if (a.gw.access_key.empty()) {
    if (const char* k = std::getenv("STRATA_ACCESS_KEY")) a.gw.access_key = k;
  }
  if (!a.secret_key_file.empty()) {
    std::ifstream in(a.secret_key_file);
    if (!in) return Status::InvalidArgument("cannot read --secret-key-file " + a.secret_key_file);
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    a.gw.secret_key = line;
  }
  if (a.gw.secret_key.empty()) {
    if (const char* s = std::getenv("STRATA_SECRET_KEY")) a.gw.secret_key = s;
  }
  return a.gw.Validate();
}

Status Serve(const client::Registries& registries, GatewayArgs& a) {
  RETURN_IF_ERROR(LoadCredentials(a));
  logging::LogOptions lo = a.client.log;
  ASSIGN_OR_RETURN(lo.level, logging::ParseLogLevel(a.log_level));
  RETURN_IF_ERROR(logging::InitLogging(lo));
  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // only sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that goes away is a failed write, not our death

  if (MetaDatabaseMissing(a.client.meta_url)) {  // opening it would create an empty one
    return Status::NotFound("volume is not formatted (no database at " + a.client.meta_url + ")");
  }
  a.client.volume.mount_point = "gateway:" + a.gw.http.address;
  ASSIGN_OR_RETURN(auto c, client::Client::Open(registries, a.client));
  std::unique_ptr<client::MetricsServer> metrics;
  if (!a.metrics.empty()) {
    ASSIGN_OR_RETURN(metrics, client::MetricsServer::Start(
                                  a.metrics, [cl = c.get()] { return cl->RenderMetrics(); }));
  }
  ASSIGN_OR_RETURN(auto gw, gateway::Gateway::Start(c.get(), a.gw));
  LOG_INFO("gateway for {} at http://{}", c->volume().name(), a.gw.http.address);
  std::fprintf(stderr, "strata: gateway for volume %s listening on %s:%d (Ctrl-C to stop)\n",
               c->volume().name().c_str(), a.gw.http.address.substr(0, a.gw.http.address.rfind(':')).c_str(),
               gw->port());
  std::fflush(stderr);
  int sig = 0;
  sigwait(&stop, &sig);
  LOG_INFO("gateway: signal {}, stopping", sig);
  gw->Stop();
  gw.reset();
  Status flushed = c->volume().FlushAll();
  if (!flushed.ok()) LOG_ERROR("flushing open files at stop: {}", flushed.ToString());
  metrics.reset();
  c.reset();
  logging::Flush();
  return Status::OK();
}

}  // namespace

void RegisterGateway(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<GatewayArgs>();
  CLI::App* cmd = app.add_subcommand("gateway", "Serve a volume over the S3 API");
  cmd->add_option("META_URL", a->client.meta_url, "Metadata URL")
      ->transform(MetaUrlFromEnv());
  cmd->add_option("ADDRESS", a->gw.http.address, "HOST:PORT to listen on");
  cmd->add_option("--access-key", a->gw.access_key, "Root access key (or STRATA_ACCESS_KEY)");
  cmd->add_option("--secret-key", a->gw.secret_key,
                  "Root secret key (or STRATA_SECRET_KEY, or --secret-key-file)");
  cmd->add_option("--secret-key-file", a->secret_key_file, "Read the root secret from a file");
  cmd->add_option("--region", a->gw.region, "Region reported to clients")->capture_default_str();
  cmd->add_option("--subdir", a->client.volume.subdir, "Serve this directory as the root");
  cmd->add_flag("--read-only", a->client.volume.read_only, "Refuse every change");
  cmd->add_option("--threads", a->gw.http.threads, "Connections served at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096).description(""));
  cmd->add_option("--timeout", a->gw.http.read_timeout_s,
                  "Seconds a client may stay silent within a request")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600).description(""));
  cmd->add_option("--keep-alive", a->gw.http.keep_alive_s,
                  "Seconds an idle connection is kept open")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600).description(""));
  cmd->add_option("--uid", a->gw.uid, "Owner of files the gateway writes")->capture_default_str();
  cmd->add_option("--gid", a->gw.gid, "Group of files the gateway writes")->capture_default_str();
  cmd->add_option("--cache-dir", a->client.cache.cache_dir, "Local disk cache directory");
  cmd->add_option("--log", a->client.log.file, "Log file (default: stderr)");
  cmd->add_option("--log-level", a->log_level, "debug, info, warn, error or off")
      ->capture_default_str();
  cmd->add_option("--metrics", a->metrics, "Serve Prometheus metrics at http://HOST:PORT/metrics");
  cmd->add_flag("--no-bgjob", [a](int64_t) { a->client.background_jobs = false; },
                "Do not run background cleanup jobs");
  RegisterGatewayAdmin(cmd, registries);
  const client::Registries* reg = &registries;
  cmd->callback([a, reg, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // user / public
    if (a->client.meta_url.empty() || a->gw.http.address.empty()) {
      std::fprintf(stderr, "strata gateway: META_URL and HOST:PORT are required (see --help)\n");
      SetExitCode(2);
      return;
    }
    a->gw.http.write_timeout_s = a->gw.http.read_timeout_s;
    Status url = reg->engines.Check(a->client.meta_url);
    Status s = url.ok() ? Serve(*reg, *a) : url;
    if (!s.ok()) {
      std::fprintf(stderr, "strata gateway: %s\n", s.ToString().c_str());
      SetExitCode(1);
    }
  });
}

}  // namespace strata::cli

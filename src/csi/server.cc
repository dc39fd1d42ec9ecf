#include "csi/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/logging.h"

namespace strata::csi {
namespace {

Status PrepareSocketPath(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::InvalidArgument("endpoint " + path + " exists and is not a socket");
    }
    if (unlink(path.c_str()) != 0) {
      return Status::IOError("removing the stale socket " + path + ": " + std::strerror(errno));
    }
  }
  const size_t slash = path.rfind('/');
  struct stat dir;
  const std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  if (stat(parent.c_str(), &dir) != 0 || !S_ISDIR(dir.st_mode)) {
    return Status::InvalidArgument("the endpoint's directory " + parent + " does not exist");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<CsiServer>> CsiServer::Start(const CsiOptions& options,
                                                    const client::Registries* registries) {
  RETURN_IF_ERROR(options.Validate());
  ASSIGN_OR_RETURN(std::string sock, options.SocketPath());
  RETURN_IF_ERROR(PrepareSocketPath(sock));
  std::unique_ptr<CsiServer> s(new CsiServer());
  s->options_ = options;
  const bool controller = options.mode != Mode::kNode;
  const bool node = options.mode != Mode::kController;
  s->identity_ = std::make_unique<IdentityService>(options.driver_name, "0.1.0", controller);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.endpoint, grpc::InsecureServerCredentials());
  builder.RegisterService(s->identity_.get());
  if (controller) {
    s->controller_ = std::make_unique<ControllerService>(registries);
    builder.RegisterService(s->controller_.get());
  }
  if (node) {
    std::string bin = options.strata_bin;
    if (bin.empty()) {
      char buf[4096];
      ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
      if (n <= 0) return Status::IOError("cannot find this binary (/proc/self/exe)");
      bin.assign(buf, static_cast<size_t>(n));
    }
    s->mounter_ = std::make_unique<Mounter>(options.state_dir, bin);
    s->node_ = std::make_unique<NodeService>(registries, options.node_id, s->mounter_.get());
    builder.RegisterService(s->node_.get());
  }
  s->server_ = builder.BuildAndStart();
  if (!s->server_) return Status::IOError("cannot listen on " + options.endpoint);
  LOG_INFO("csi: serving {} on {} (identity{}{})", options.driver_name, options.endpoint,
           controller ? ", controller" : "", node ? ", node " + options.node_id : "");
  return s;
}

CsiServer::~CsiServer() { Shutdown(); }

void CsiServer::Wait() {
  if (server_) server_->Wait();
}

void CsiServer::Shutdown() {
  if (server_) server_->Shutdown();
}

}  // namespace strata::csi

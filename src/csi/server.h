// CsiServer: the gRPC server of `strata csi` on a unix socket, serving Identity and, by
// mode, Controller and/or Node (identity.h, controller.h, node.h). It owns the services and
// the node's Mounter. Start replaces a stale socket file (kubelet's plugin directories keep
// one after a crash) but refuses a path that is something else.
//
// Thread-safety: Start once; Wait blocks until Shutdown (callable from another thread).
// Errors: Start: the options' kInvalidArgument, kIOError when the socket cannot be bound.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "client/builtins.h"
#include "common/status.h"
#include "csi/controller.h"
#include "csi/identity.h"
#include "csi/mounter.h"
#include "csi/node.h"
#include "csi/options.h"

namespace strata::csi {

class CsiServer {
 public:
  // `registries` is borrowed and must outlive the server.
  static Result<std::unique_ptr<CsiServer>> Start(const CsiOptions& options,
                                                  const client::Registries* registries);
  ~CsiServer();

  void Wait();
  void Shutdown();

 private:
  CsiServer() = default;

  CsiOptions options_;
  std::unique_ptr<Mounter> mounter_;
  std::unique_ptr<IdentityService> identity_;
  std::unique_ptr<ControllerService> controller_;
  std::unique_ptr<NodeService> node_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace strata::csi

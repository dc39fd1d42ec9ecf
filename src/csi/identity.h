// The CSI Identity service: who we are, what we serve, and whether we are ready.
// GetPluginCapabilities announces the controller service only when this process serves it
// (--mode controller|all), and online volume expansion (ControllerExpandVolume raises the
// recorded capacity; nothing is needed on the node).
//
// Thread-safety: stateless after construction; gRPC calls it from many threads.
#pragma once

#include <string>

#include "csi/csi.grpc.pb.h"

namespace strata::csi {

class IdentityService final : public ::csi::v1::Identity::Service {
 public:
  IdentityService(std::string name, std::string version, bool controller)
      : name_(std::move(name)), version_(std::move(version)), controller_(controller) {}

  grpc::Status GetPluginInfo(grpc::ServerContext*, const ::csi::v1::GetPluginInfoRequest*,
                             ::csi::v1::GetPluginInfoResponse* resp) override;
  grpc::Status GetPluginCapabilities(grpc::ServerContext*,
                                     const ::csi::v1::GetPluginCapabilitiesRequest*,
                                     ::csi::v1::GetPluginCapabilitiesResponse* resp) override;
  grpc::Status Probe(grpc::ServerContext*, const ::csi::v1::ProbeRequest*,
                     ::csi::v1::ProbeResponse* resp) override;

 private:
  const std::string name_;
  const std::string version_;
  const bool controller_;
};

}  // namespace strata::csi

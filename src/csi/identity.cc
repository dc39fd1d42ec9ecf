#include "csi/identity.h"

namespace strata::csi {

namespace pb = ::csi::v1;

grpc::Status IdentityService::GetPluginInfo(grpc::ServerContext*, const pb::GetPluginInfoRequest*,
                                            pb::GetPluginInfoResponse* resp) {
  resp->set_name(name_);
  resp->set_vendor_version(version_);
  return grpc::Status::OK;
}

grpc::Status IdentityService::GetPluginCapabilities(grpc::ServerContext*,
                                                    const pb::GetPluginCapabilitiesRequest*,
                                                    pb::GetPluginCapabilitiesResponse* resp) {
  if (controller_) {
    resp->add_capabilities()->mutable_service()->set_type(
        pb::PluginCapability::Service::CONTROLLER_SERVICE);
  }
  resp->add_capabilities()->mutable_volume_expansion()->set_type(
      pb::PluginCapability::VolumeExpansion::ONLINE);
  return grpc::Status::OK;
}

grpc::Status IdentityService::Probe(grpc::ServerContext*, const pb::ProbeRequest*,
                                    pb::ProbeResponse* resp) {
  // Nothing to wait for at start: each request opens what it needs.
  resp->mutable_ready()->set_value(true);
  return grpc::Status::OK;
}

}  // namespace strata::csi

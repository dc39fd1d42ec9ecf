// The CSI Controller service: dynamic provisioning on a StrataFS volume. A PersistentVolume
// is a directory of the volume named from the request (`{basedir}/{name}`; the StorageClass
// parameter `basedir` is optional), with the requested capacity recorded on it
// (volume_dirs.h). The volume id is that path, and the volume context carries it as
// `subdir`, which the node plugin mounts. DeleteVolume removes the directory's tree (files to
// the volume's trash), ControllerExpandVolume raises the recorded capacity.
//
// Every call takes the volume from its secrets (secrets.h) and opens it for the call only.
//
// Errors (gRPC): INVALID_ARGUMENT for a missing name/volume id/capabilities/secrets or an
// unsupported capability, OUT_OF_RANGE for required > limit bytes, FAILED_PRECONDITION for a
// metaurl that names no usable volume (with the masked URL and why), NOT_FOUND for a volume
// directory that is not there (validate, expand), ALREADY_EXISTS for a name taken with another
// capacity, UNAVAILABLE when the engine cannot be reached.
//
// Thread-safety: calls run concurrently; each opens its own VolumeDirs.
#pragma once

#include "client/builtins.h"
#include "csi/csi.grpc.pb.h"

namespace strata::csi {

class ControllerService final : public ::csi::v1::Controller::Service {
 public:
  explicit ControllerService(const client::Registries* registries) : registries_(registries) {}

  grpc::Status CreateVolume(grpc::ServerContext*, const ::csi::v1::CreateVolumeRequest* req,
                            ::csi::v1::CreateVolumeResponse* resp) override;
  grpc::Status DeleteVolume(grpc::ServerContext*, const ::csi::v1::DeleteVolumeRequest* req,
                            ::csi::v1::DeleteVolumeResponse* resp) override;
  grpc::Status ValidateVolumeCapabilities(
      grpc::ServerContext*, const ::csi::v1::ValidateVolumeCapabilitiesRequest* req,
      ::csi::v1::ValidateVolumeCapabilitiesResponse* resp) override;
  grpc::Status ControllerGetCapabilities(
      grpc::ServerContext*, const ::csi::v1::ControllerGetCapabilitiesRequest* req,
      ::csi::v1::ControllerGetCapabilitiesResponse* resp) override;
  grpc::Status ControllerExpandVolume(grpc::ServerContext*,
                                      const ::csi::v1::ControllerExpandVolumeRequest* req,
                                      ::csi::v1::ControllerExpandVolumeResponse* resp) override;

 private:
  const client::Registries* registries_;  // not owned; outlives the service
};

}  // namespace strata::csi

// The CSI Node service: publishes a volume's directory at a pod's target path through the
// Mounter (one shared `strata mount` per volume on this node, bind mounts per pod; see
// mounter.h). No staging step (NodeGetCapabilities announces none), so kubelet calls
// NodePublishVolume directly for each pod.
//
//   volume_context.subdir   the directory of the volume to publish ("" or absent: the root).
//                           Set by CreateVolume; for static provisioning the PV's
//                           volumeAttributes.subdir. Created when missing (unless read-only).
//   readonly / *_READER_ONLY access modes   a read-only bind mount.
//   mount_flags             passed to the shared mount as mount.strata options.
//
// Errors (gRPC): INVALID_ARGUMENT for a missing volume_id, target_path, volume_capability or
// secrets, or an unsupported capability; FAILED_PRECONDITION when the volume cannot be
// mounted (bad metaurl, not formatted, mount refused; the masked URL and the mount's reason);
// ALREADY_EXISTS when the target holds another mount; INTERNAL for system call failures.
//
// Thread-safety: calls run concurrently; the Mounter serialises them.
#pragma once

#include <string>

#include "client/builtins.h"
#include "csi/csi.grpc.pb.h"
#include "csi/mounter.h"

namespace strata::csi {

class NodeService final : public ::csi::v1::Node::Service {
 public:
  NodeService(const client::Registries* registries, std::string node_id, Mounter* mounter)
      : registries_(registries), node_id_(std::move(node_id)), mounter_(mounter) {}

  grpc::Status NodePublishVolume(grpc::ServerContext*,
                                 const ::csi::v1::NodePublishVolumeRequest* req,
                                 ::csi::v1::NodePublishVolumeResponse* resp) override;
  grpc::Status NodeUnpublishVolume(grpc::ServerContext*,
                                   const ::csi::v1::NodeUnpublishVolumeRequest* req,
                                   ::csi::v1::NodeUnpublishVolumeResponse* resp) override;
  grpc::Status NodeGetCapabilities(grpc::ServerContext*,
                                   const ::csi::v1::NodeGetCapabilitiesRequest* req,
                                   ::csi::v1::NodeGetCapabilitiesResponse* resp) override;
  grpc::Status NodeGetInfo(grpc::ServerContext*, const ::csi::v1::NodeGetInfoRequest* req,
                           ::csi::v1::NodeGetInfoResponse* resp) override;

 private:
  const client::Registries* registries_;  // not owned
  const std::string node_id_;
  Mounter* mounter_;  // not owned; outlives the service
};

}  // namespace strata::csi

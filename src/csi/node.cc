#include "csi/node.h"

#include "common/logging.h"
#include "csi/capabilities.h"
#include "csi/errors.h"
#include "csi/secrets.h"
#include "csi/volume_dirs.h"

namespace strata::csi {

namespace pb = ::csi::v1;

grpc::Status NodeService::NodePublishVolume(grpc::ServerContext*,
                                            const pb::NodePublishVolumeRequest* req,
                                            pb::NodePublishVolumeResponse*) {
  if (req->volume_id().empty()) return InvalidArgument("volume_id is required");
  if (req->target_path().empty()) return InvalidArgument("target_path is required");
  if (!req->has_volume_capability()) return InvalidArgument("volume_capability is required");
  Status s = CheckCapability(req->volume_capability());
  if (!s.ok()) return ToGrpc(s);
  bool bad_url = false;
  auto secrets = ParseSecrets(ToStdMap(req->secrets()), *registries_, &bad_url);
  if (!secrets.ok()) {
    return bad_url ? FailedPrecondition(secrets.status()) : ToGrpc(secrets.status());
  }
  if (Status db = CheckDatabaseFile(*secrets); !db.ok()) return FailedPrecondition(db);
  PublishRequest pr;
  pr.secrets = std::move(*secrets);
  if (auto it = req->volume_context().find("subdir"); it != req->volume_context().end()) {
    auto sub = NormalizeVolumePath(it->second);
    if (!sub.ok()) return ToGrpc(sub.status());
    pr.subdir = *sub;
  }
  pr.target = req->target_path();
  pr.read_only = req->readonly() || ReadOnlyMode(req->volume_capability());
  for (const std::string& f : req->volume_capability().mount().mount_flags()) {
    pr.mount_flags.push_back(f);
  }
  bool mount_failed = false;
  s = mounter_->Publish(pr, &mount_failed);
  if (!s.ok()) {
    LOG_WARN("csi: publishing volume {} at {}: {}", req->volume_id(), req->target_path(),
             s.ToString());
    if (mount_failed) return FailedPrecondition(s);
    return ToGrpc(s);
  }
  return grpc::Status::OK;
}

grpc::Status NodeService::NodeUnpublishVolume(grpc::ServerContext*,
                                              const pb::NodeUnpublishVolumeRequest* req,
                                              pb::NodeUnpublishVolumeResponse*) {
  if (req->volume_id().empty()) return InvalidArgument("volume_id is required");
  if (req->target_path().empty()) return InvalidArgument("target_path is required");
  Status s = mounter_->Unpublish(req->target_path());
  if (!s.ok()) {
    LOG_WARN("csi: unpublishing volume {} at {}: {}", req->volume_id(), req->target_path(),
             s.ToString());
  }
  return ToGrpc(s);
}

grpc::Status NodeService::NodeGetCapabilities(grpc::ServerContext*,
                                              const pb::NodeGetCapabilitiesRequest*,
                                              pb::NodeGetCapabilitiesResponse*) {
  return grpc::Status::OK;  // no staging, no stats, no node-side expansion
}

grpc::Status NodeService::NodeGetInfo(grpc::ServerContext*, const pb::NodeGetInfoRequest*,
                                      pb::NodeGetInfoResponse* resp) {
  resp->set_node_id(node_id_);
  resp->set_max_volumes_per_node(0);  // no limit
  return grpc::Status::OK;
}

}  // namespace strata::csi

#include "csi/controller.h"

#include <memory>
#include <string>

#include "common/logging.h"
#include "common/units.h"
#include "csi/capabilities.h"
#include "csi/errors.h"
#include "csi/secrets.h"
#include "csi/volume_dirs.h"

namespace strata::csi {

namespace pb = ::csi::v1;

namespace {

// The request's volume, opened for this call.
grpc::Status OpenDirs(const client::Registries& registries,
                      const google::protobuf::Map<std::string, std::string>& secrets,
                      std::unique_ptr<VolumeDirs>* out) {
  bool bad_url = false;
  auto vs = ParseSecrets(ToStdMap(secrets), registries, &bad_url);
  if (!vs.ok()) return bad_url ? FailedPrecondition(vs.status()) : ToGrpc(vs.status());
  auto dirs = VolumeDirs::Open(registries, *vs);
  if (!dirs.ok()) {
    const Status s(dirs.status().code(), "cannot open the volume " + vs->masked_url + ": " +
                                             Scrub(std::string(dirs.status().message()), *vs));
    if (s.IsRetryable()) return ToGrpc(s);
    return FailedPrecondition(s);  // not formatted, not a StrataFS volume, refused
  }
  *out = std::move(*dirs);
  return grpc::Status::OK;
}

// The capacity asked for (0: none), or why the range is unacceptable.
grpc::Status RequestedCapacity(const pb::CapacityRange& r, uint64_t* out) {
  if (r.required_bytes() < 0 || r.limit_bytes() < 0) {
    return InvalidArgument("capacity bytes must not be negative");
  }
  if (r.limit_bytes() > 0 && r.required_bytes() > r.limit_bytes()) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                        "required_bytes is larger than limit_bytes");
  }
  *out = static_cast<uint64_t>(r.required_bytes() > 0 ? r.required_bytes() : r.limit_bytes());
  return grpc::Status::OK;
}

grpc::Status CheckCapabilities(
    const google::protobuf::RepeatedPtrField<pb::VolumeCapability>& caps) {
  if (caps.empty()) return InvalidArgument("volume_capabilities are required");
  for (const auto& c : caps) {
    Status s = CheckCapability(c);
    if (!s.ok()) return ToGrpc(s);
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status ControllerService::CreateVolume(grpc::ServerContext*,
                                             const pb::CreateVolumeRequest* req,
                                             pb::CreateVolumeResponse* resp) {
  if (req->name().empty()) return InvalidArgument("name is required");
  if (req->name().find('/') != std::string::npos || req->name() == "." || req->name() == "..") {
    return InvalidArgument("name '" + req->name() + "' cannot name a directory");
  }
  grpc::Status g = CheckCapabilities(req->volume_capabilities());
  if (!g.ok()) return g;
  uint64_t capacity = 0;
  g = RequestedCapacity(req->capacity_range(), &capacity);
  if (!g.ok()) return g;
  std::string base;
  if (auto it = req->parameters().find("basedir"); it != req->parameters().end()) {
    base = it->second;
  }
  auto path = NormalizeVolumePath(base + "/" + req->name());
  if (!path.ok()) return ToGrpc(path.status());
  std::unique_ptr<VolumeDirs> dirs;
  g = OpenDirs(*registries_, req->secrets(), &dirs);
  if (!g.ok()) return g;
  Status s = dirs->Create(*path, capacity);
  if (!s.ok()) return ToGrpc(s);
  LOG_INFO("csi: created volume {} ({})", *path,
           capacity ? FormatBytes(capacity) : std::string("no capacity given"));
  pb::Volume* v = resp->mutable_volume();
  v->set_volume_id(*path);
  v->set_capacity_bytes(static_cast<int64_t>(capacity));
  (*v->mutable_volume_context())["subdir"] = *path;
  return grpc::Status::OK;
}

grpc::Status ControllerService::DeleteVolume(grpc::ServerContext*,
                                             const pb::DeleteVolumeRequest* req,
                                             pb::DeleteVolumeResponse*) {
  if (req->volume_id().empty()) return InvalidArgument("volume_id is required");
  auto path = NormalizeVolumePath(req->volume_id());
  if (!path.ok()) return ToGrpc(path.status());
  if (path->empty()) return InvalidArgument("refusing to delete the volume's root");
  std::unique_ptr<VolumeDirs> dirs;
  grpc::Status g = OpenDirs(*registries_, req->secrets(), &dirs);
  if (!g.ok()) return g;
  Status s = dirs->Remove(*path);
  if (!s.ok()) return ToGrpc(s);
  LOG_INFO("csi: deleted volume {}", *path);
  return grpc::Status::OK;
}

grpc::Status ControllerService::ValidateVolumeCapabilities(
    grpc::ServerContext*, const pb::ValidateVolumeCapabilitiesRequest* req,
    pb::ValidateVolumeCapabilitiesResponse* resp) {
  if (req->volume_id().empty()) return InvalidArgument("volume_id is required");
  if (req->volume_capabilities().empty()) {
    return InvalidArgument("volume_capabilities are required");
  }
  std::string subdir = req->volume_id();
  if (auto it = req->volume_context().find("subdir"); it != req->volume_context().end()) {
    subdir = it->second;
  }
  if (!req->secrets().empty()) {  // with the volume's secrets, check that it exists
    std::unique_ptr<VolumeDirs> dirs;
    grpc::Status g = OpenDirs(*registries_, req->secrets(), &dirs);
    if (!g.ok()) return g;
    auto have = dirs->Capacity(subdir);
    if (!have.ok()) return ToGrpc(have.status());
  }
  for (const auto& c : req->volume_capabilities()) {
    Status s = CheckCapability(c);
    if (!s.ok()) {
      resp->set_message(std::string(s.message()));
      return grpc::Status::OK;  // not confirmed, with the reason
    }
  }
  auto* conf = resp->mutable_confirmed();
  *conf->mutable_volume_capabilities() = req->volume_capabilities();
  *conf->mutable_volume_context() = req->volume_context();
  *conf->mutable_parameters() = req->parameters();
  return grpc::Status::OK;
}

grpc::Status ControllerService::ControllerGetCapabilities(
    grpc::ServerContext*, const pb::ControllerGetCapabilitiesRequest*,
    pb::ControllerGetCapabilitiesResponse* resp) {
  for (auto t : {pb::ControllerServiceCapability::RPC::CREATE_DELETE_VOLUME,
                 pb::ControllerServiceCapability::RPC::EXPAND_VOLUME}) {
    resp->add_capabilities()->mutable_rpc()->set_type(t);
  }
  return grpc::Status::OK;
}

grpc::Status ControllerService::ControllerExpandVolume(grpc::ServerContext*,
                                                       const pb::ControllerExpandVolumeRequest* req,
                                                       pb::ControllerExpandVolumeResponse* resp) {
  if (req->volume_id().empty()) return InvalidArgument("volume_id is required");
  if (!req->has_capacity_range()) return InvalidArgument("capacity_range is required");
  if (req->has_volume_capability()) {
    Status s = CheckCapability(req->volume_capability());
    if (!s.ok()) return ToGrpc(s);
  }
  uint64_t want = 0;
  grpc::Status g = RequestedCapacity(req->capacity_range(), &want);
  if (!g.ok()) return g;
  auto path = NormalizeVolumePath(req->volume_id());
  if (!path.ok()) return ToGrpc(path.status());
  std::unique_ptr<VolumeDirs> dirs;
  g = OpenDirs(*registries_, req->secrets(), &dirs);
  if (!g.ok()) return g;
  auto have = dirs->Capacity(*path);
  if (!have.ok()) return ToGrpc(have.status());
  uint64_t now = *have;
  if (want > now) {  // never shrinks: expansion only
    Status s = dirs->SetCapacity(*path, want);
    if (!s.ok()) return ToGrpc(s);
    now = want;
    LOG_INFO("csi: expanded volume {} to {}", *path, FormatBytes(now));
  }
  resp->set_capacity_bytes(static_cast<int64_t>(now));
  resp->set_node_expansion_required(false);
  return grpc::Status::OK;
}

}  // namespace strata::csi

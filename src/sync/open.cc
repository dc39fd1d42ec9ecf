#include "sync/open.h"

#include "sync/object_endpoint.h"
#include "sync/path_endpoint.h"
#include "sync/volume_endpoint.h"

namespace strata::sync {

Result<std::unique_ptr<Endpoint>> OpenEndpoint(const client::Registries& registries,
                                               const std::string& spec,
                                               const EndpointOptions& options, bool destination) {
  const char* side = destination ? "--dst-meta" : "--src-meta";
  if (spec.rfind("strata://", 0) == 0) {
    if (options.meta_url.empty()) {
      return Status::InvalidArgument(spec + " needs the volume's META_URL in " + side);
    }
    ASSIGN_OR_RETURN(
        auto v, VolumeEndpoint::Open(registries, options.meta_url, spec.substr(9), destination));
    return std::unique_ptr<Endpoint>(std::move(v));
  }
  if (!options.meta_url.empty()) {
    return Status::InvalidArgument(std::string(side) + " is only for a strata:// endpoint");
  }
  if (spec.find("://") != std::string::npos) {
    auto store = registries.stores.Open(spec, options.store);
    if (!store.ok()) return store.status().WithContext("opening " + spec);
    // Reach it once now, so an unreachable store is one clear error before any work.
    object::ListOptions lo;
    lo.limit = 1;
    auto probe = (*store)->List(lo);
    if (!probe.ok()) return probe.status().WithContext("reaching " + (*store)->Describe());
    return std::unique_ptr<Endpoint>(new ObjectEndpoint(std::move(*store)));
  }
  if (spec.empty()) return Status::InvalidArgument("empty path");
  return std::unique_ptr<Endpoint>(new PathEndpoint(spec, !destination));
}

}  // namespace strata::sync

// RegisterS3Stores: the s3://, http:// and https:// schemes of the StoreRegistry.
#include "object/registry.h"
#include "object/s3/s3_store.h"

namespace strata::object {

void RegisterS3Stores(StoreRegistry& registry) {
  auto factory = [](const Uri& uri, const StoreOptions& opts)
      -> Result<std::shared_ptr<ObjectStore>> {
    ASSIGN_OR_RETURN(auto store, s3::S3Store::Open(uri, opts));
    return std::shared_ptr<ObjectStore>(std::move(store));
  };
  registry.Register("s3", factory);
  registry.Register("http", factory);
  registry.Register("https", factory);
}

}  // namespace strata::object

#include "client/builtins.h"

namespace strata::client {

void RegisterBuiltins(Registries& r) {
  kv::RegisterMemKv(r.engines);
  kv::RegisterSqliteKv(r.engines);
  kv::RegisterRedisKv(r.engines);
  kv::RegisterEtcdKv(r.engines);
  kv::RegisterPostgresKv(r.engines);
  object::RegisterLocalStores(r.stores);
  object::RegisterS3Stores(r.stores);
}

}  // namespace strata::client

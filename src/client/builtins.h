// Registries and RegisterBuiltins: the one place that knows every metadata engine and every
// object store backend StrataFS is built with. main() fills one Registries and hands it to
// whatever it runs; tests do the same. Nothing registers itself through static initialisers.
//
// Thread-safety: fill before use; afterwards read-only and safe to share between threads.
#pragma once

#include "meta/kv/kv.h"
#include "object/registry.h"

namespace strata::client {

struct Registries {
  kv::KvRegistry engines;       // memkv:// sqlite3:// redis://
  object::StoreRegistry stores; // mem:// file:// s3:// http:// https://
};

// Registers every built-in engine and store. Call once per Registries.
void RegisterBuiltins(Registries& registries);

}  // namespace strata::client

// Load: restores a dump (docs/format/dump.md) into an EMPTY engine of any kind, in batched
// transactions, reading the input incrementally (memory: one batch and one line, whatever the
// dump's size). The settings record is written in the last transaction, so until a load has
// finished the engine never holds a mountable volume.
//
// Bad input changes nothing: a non-empty target is refused before anything is written; a line
// that does not parse or decode, a missing or foreign header, or an input that ends without
// its end record (a truncated dump) stops the load with kCorruption naming the line and the
// byte offset, and the keys already written are removed again (KvEngine::Clear: the engine
// was empty when the load began).
//
// Thread-safety: one call is one thread's. Errors: kAlreadyExists for a non-empty target,
// kCorruption for bad input, the engine's (a failed clean-up is named in the message).
#pragma once

#include <cstdint>
#include <istream>
#include <nlohmann/json.hpp>

#include "common/progress.h"
#include "common/status.h"
#include "meta/kv/kv.h"

namespace strata::dump {

struct LoadOptions {
  size_t batch_records = 1000;   // records per transaction at most
  size_t batch_bytes = 4 << 20;  // bytes of keys and values per transaction at most
  size_t max_line = 64 << 20;    // a longer line is corruption
  // Changes to the settings record before it is written, e.g. the new store of a volume that
  // moves to another cloud: fields of this object replace the dump's ("storage", "access_key",
  // "secret_key", ...). Empty: the settings as dumped.
  nlohmann::json setting_overrides = nlohmann::json::object();
};

struct LoadStats {
  uint64_t records = 0;
  uint64_t inodes = 0;
  uint64_t transactions = 0;
  uint64_t bytes = 0;  // of input read
};

// `records` and `bytes` (may be null) count progress.
Result<LoadStats> Load(kv::KvEngine& engine, std::istream& in, const LoadOptions& options,
                       Progress::Counter* records = nullptr, Progress::Counter* bytes = nullptr);

// kAlreadyExists naming the first key when the engine holds anything.
Status CheckEmpty(kv::KvEngine& engine);

}  // namespace strata::dump

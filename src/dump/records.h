// The dump's record codec (docs/format/dump.md): one metadata key/value pair of the key
// schema (docs/format/meta-schema.md) <-> one JSON object, decoded into named fields so that a
// dump is readable and engine-neutral. Keys the codec does not know travel as "raw" records
// (base64 key and value), so a dump never loses a record of a newer schema kind.
//
// Thread-safety: pure functions. Errors: DecodeRecord returns kCorruption naming the field
// that is missing or malformed; EncodeRecord fails only for a record that does not decode
// (kCorruption naming the key).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "meta/kv/kv.h"

namespace strata::dump {

constexpr int kDumpVersion = 1;

std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view text);

// Sets obj[field] to the bytes when they are valid UTF-8 without control characters, else
// obj[field + "64"] to their base64; GetBytes reads either form back.
void PutBytes(nlohmann::json& obj, const std::string& field, std::string_view bytes);
Result<std::string> GetBytes(const nlohmann::json& obj, const std::string& field);

// One stored pair -> one record ("t" names the kind). Counters are written as they are
// (the caller folds the usage shards itself, see Dumper).
Result<nlohmann::json> EncodeRecord(const kv::KeyValue& kv);
// One record -> the pair to store. "counter" records of usedSpace/usedInodes become shard 0.
Result<kv::KeyValue> DecodeRecord(const nlohmann::json& rec);

}  // namespace strata::dump

// StoreOp: the operations of the ObjectStore interface as values, for per-operation metrics
// (MetricsStore) and fault rules (FaultyStore).
//
// Thread-safety: constants.
#pragma once

#include <cstdint>

namespace strata::object {

enum class StoreOp : int {
  kGet = 0,
  kPut,
  kHead,
  kDelete,
  kList,
  kCreateMultipart,
  kUploadPart,
  kCompleteMultipart,
  kAbortMultipart,
  kListParts,
  kSync,  // ObjectStore::Sync; one call however many keys
};
constexpr int kStoreOpCount = 11;
// "get", "put", ... for labels.
const char* StoreOpName(StoreOp op);

// Bit of `op` in an operation mask.
constexpr uint32_t OpBit(StoreOp op) { return uint32_t{1} << static_cast<int>(op); }
constexpr uint32_t kAllOps = (uint32_t{1} << kStoreOpCount) - 1;

}  // namespace strata::object

// Id allocation (meta.h NextId): inode and slice ids come from engine counters in batches, so
// most allocations need no transaction. A counter only grows, so an id is never handed out
// twice, even across clients and crashes (a crashed client's unused batch is simply skipped).
#include "common/bytes.h"
#include "meta/meta.h"
#include "meta/schema.h"

namespace strata::meta {

Result<uint64_t> Meta::NextId(IdRange& range, const std::string& counter) {
  std::lock_guard<std::mutex> lock(range.mu);
  if (range.next < range.end) return range.next++;
  // Counters start where the schema says: inode 2 (1 is the root), slice 1 (0 means a hole).
  const uint64_t first = counter == "nextInode" ? kRootIno + 1 : 1;
  const uint64_t batch = static_cast<uint64_t>(options_.id_batch);
  uint64_t start = 0;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    const std::string key = schema::CounterKey(counter);
    ASSIGN_OR_RETURN(auto raw, txn.Get(key));
    start = first;
    if (raw) {
      if (raw->size() != 8) return Status::Corruption("counter " + counter + " is not 8 bytes");
      start = std::max(first, GetU64BE(raw->data()));
    }
    if (start > kFirstReservedIno - batch) return Status(Code::kNoSpace, "id space exhausted");
    std::string v;
    PutU64BE(&v, start + batch);
    txn.Put(key, v);
    return Status::OK();
  }));
  range.next = start + 1;
  range.end = start + batch;
  return start;
}

}  // namespace strata::meta

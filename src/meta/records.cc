// Front-end records (meta.h "Front-end records"): `R{name}` keys holding values that a front
// end owns (the S3 gateway keeps users, grants and public prefixes there). The file system
// never reads them; dump/fsck leave them alone. Each call is one transaction.
#include "meta/meta.h"
#include "meta/scan.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {
constexpr char kRecordPrefix[] = "R";
std::string RecordKey(const std::string& name) { return kRecordPrefix + name; }
}  // namespace

Result<std::optional<std::string>> Meta::GetRecord(const std::string& name) {
  std::optional<std::string> out;
  kv::TxnOptions opts;
  opts.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(out, txn.Get(RecordKey(name)));
        return Status::OK();
      },
      opts));
  return out;
}

Status Meta::PutRecord(const std::string& name, const std::string& value) {
  if (options_.read_only) return Status(Code::kReadOnly, "read-only volume");
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    txn.Put(RecordKey(name), value);
    return Status::OK();
  });
}

Status Meta::DeleteRecord(const std::string& name) {
  if (options_.read_only) return Status(Code::kReadOnly, "read-only volume");
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto old, txn.Get(RecordKey(name)));
    if (!old) return Status::NotFound("no record " + name);
    txn.Delete(RecordKey(name));
    return Status::OK();
  });
}

Result<std::vector<std::pair<std::string, std::string>>> Meta::ListRecords(
    const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string begin = RecordKey(prefix);
  RETURN_IF_ERROR(scan::ForEachInRange(
      *engine_, begin, schema::PrefixEnd(begin),
      [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
        out.emplace_back(kv.key.substr(1), kv.value);
        return std::optional<std::string>();
      }));
  return out;
}

}  // namespace strata::meta

// quota::Check (quota.h): the usage of a quota's subtree recomputed from its entries and
// attrs, against the U{d} records and the quota's used fields; repair writes the recomputed
// values.
#include <map>

#include "common/bytes.h"
#include "meta/internal.h"
#include "meta/namespace_util.h"
#include "meta/quota.h"
#include "meta/schema.h"

namespace strata::meta::quota {
namespace {

constexpr size_t kPage = 1000;

// Lists directory d page by page: its direct usage from the entries, its subdirectories.
Status ListDir(kv::KvEngine& engine, Ino d, DirUsage* direct, DirUsage* recorded,
               std::vector<Ino>* subdirs) {
  kv::TxnOptions ro;
  ro.read_only = true;
  const std::string prefix = schema::EntryPrefix(d);
  const std::string end = schema::PrefixEnd(prefix);
  std::string from = prefix;
  bool first = true;
  for (;;) {
    size_t got = 0;
    std::string last;
    RETURN_IF_ERROR(kv::RunTxn(
        engine,
        [&](kv::Transaction& txn) -> Status {
          if (first) {
            ASSIGN_OR_RETURN(auto u, txn.Get(schema::UsageKey(d)));
            *recorded = internal::DecodeUsage(u);
          }
          ASSIGN_OR_RETURN(auto page, txn.Scan(from, end, kPage));
          got = page.size();
          std::vector<std::string> keys;
          std::vector<FileType> types;
          std::vector<Ino> inos;
          for (const auto& kv : page) {
            FileType t;
            Ino child;
            RETURN_IF_ERROR(schema::DecodeEntry(kv.value, &t, &child));
            keys.push_back(schema::AttrKey(child));
            types.push_back(t);
            inos.push_back(child);
          }
          if (!page.empty()) last = page.back().key;
          ASSIGN_OR_RETURN(auto attrs, txn.BatchGet(keys));
          for (size_t i = 0; i < inos.size(); i++) {
            if (types[i] == FileType::kDirectory) subdirs->push_back(inos[i]);
            // The trash's hour directories are not counted in its usage (meta-schema.md).
            if (d == kTrashIno && types[i] == FileType::kDirectory) continue;
            direct->inodes++;
            if (attrs[i]) {
              ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*attrs[i]));
              direct->bytes += internal::UsageBytes(a);
            }
          }
          return Status::OK();
        },
        ro));
    first = false;
    if (got < kPage) return Status::OK();
    from = last + '\0';
  }
}

Result<CheckResult> CheckOne(Meta& meta, const Info& q, bool repair) {
  CheckResult res;
  res.quota = q;
  std::vector<Ino> todo{q.ino};
  if (q.ino == kRootIno) todo.push_back(kTrashIno);  // the trash hangs below the root
  while (!todo.empty()) {
    const Ino d = todo.back();
    todo.pop_back();
    DirUsage direct, recorded;
    RETURN_IF_ERROR(ListDir(meta.engine(), d, &direct, &recorded, &todo));
    res.computed.bytes += direct.bytes;
    res.computed.inodes += direct.inodes;
    if (direct.bytes != recorded.bytes || direct.inodes != recorded.inodes) {
      res.dirs.push_back({d, recorded, direct});
    }
  }
  if (!repair || res.ok()) return res;
  RETURN_IF_ERROR(kv::RunTxn(meta.engine(), [&](kv::Transaction& txn) -> Status {
    for (const DirFix& f : res.dirs) {
      if (f.computed.bytes == 0 && f.computed.inodes == 0) {
        txn.Delete(schema::UsageKey(f.dir));
      } else {
        txn.Put(schema::UsageKey(f.dir),
                schema::EncodeI64(f.computed.bytes) + schema::EncodeI64(f.computed.inodes));
      }
    }
    ASSIGN_OR_RETURN(auto raw, txn.Get(schema::QuotaKey(q.ino)));
    std::optional<Record> r = raw ? DecodeRecord(*raw) : std::nullopt;
    if (!r) return Status::NotFound("the quota was deleted meanwhile");
    r->used_bytes = res.computed.bytes;
    r->used_inodes = res.computed.inodes;
    txn.Put(schema::QuotaKey(q.ino), EncodeRecord(*r));
    return Status::OK();
  }));
  res.repaired = true;
  return res;
}

}  // namespace

Result<std::vector<CheckResult>> Check(Meta& meta, const std::string& path, bool repair) {
  std::vector<Info> quotas;
  if (path.empty()) {
    ASSIGN_OR_RETURN(quotas, List(meta));
  } else {
    ASSIGN_OR_RETURN(Info i, Get(meta, path));
    quotas.push_back(std::move(i));
  }
  std::vector<CheckResult> out;
  for (const Info& q : quotas) {
    ASSIGN_OR_RETURN(CheckResult r, CheckOne(meta, q, repair));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace strata::meta::quota

// Quota administration: set, get, list, delete (quota.h). Check is quota_check.cc.
#include "meta/quota.h"

#include "common/bytes.h"
#include "meta/quota_kv.h"
#include "meta/scan.h"
#include "meta/schema.h"

namespace strata::meta::quota {
namespace {

Result<Ino> Resolve(Meta& meta, const std::string& path) {
  auto dir = meta.ResolveDir(path);
  if (!dir.ok()) {
    if (dir.status().Is(Code::kNotDir)) return Status(Code::kNotDir, "not a directory: " + path);
    return Status::NotFound("no such directory in the volume: " + path);
  }
  return *dir;
}

void BumpEpoch(kv::Transaction& txn, const std::optional<std::string>& raw) {
  std::string v;
  PutU64BE(&v, DecodeEpoch(raw) + 1);
  txn.Put(EpochKey(), v);
}

}  // namespace

Result<Info> Set(Meta& meta, const std::string& path, std::optional<uint64_t> max_bytes,
                 std::optional<uint64_t> max_inodes) {
  if (!max_bytes && !max_inodes) {
    return Status::InvalidArgument("nothing to set: give --capacity and/or --inodes");
  }
  ASSIGN_OR_RETURN(Ino dir, Resolve(meta, path));
  Info out;
  out.ino = dir;
  RETURN_IF_ERROR(kv::RunTxn(meta.engine(), [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw,
                     txn.BatchGet({schema::AttrKey(dir), schema::QuotaKey(dir), EpochKey()}));
    if (!raw[0]) return Status::NotFound("no such directory in the volume: " + path);
    Record r;
    std::optional<Record> old = raw[1] ? DecodeRecord(*raw[1]) : std::nullopt;
    if (old) {
      r = *old;
    } else {
      // A new quota starts from the subtree's usage records.
      ASSIGN_OR_RETURN(DirUsage u, SubtreeUsage(txn, dir, UINT64_MAX));
      r.used_bytes = u.bytes;
      r.used_inodes = u.inodes;
    }
    if (max_bytes) r.max_bytes = *max_bytes;
    if (max_inodes) r.max_inodes = *max_inodes;
    txn.Put(schema::QuotaKey(dir), EncodeRecord(r));
    BumpEpoch(txn, raw[2]);
    out.record = r;
    return Status::OK();
  }));
  out.path = scan::PathOf(meta.engine(), dir);
  return out;
}

Result<Info> GetByIno(Meta& meta, Ino dir) {
  Info out;
  out.ino = dir;
  kv::TxnOptions ro;
  ro.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      meta.engine(),
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(auto raw, txn.Get(schema::QuotaKey(dir)));
        std::optional<Record> r = raw ? DecodeRecord(*raw) : std::nullopt;
        if (!r) return Status::NotFound("no quota on this directory");
        out.record = *r;
        return Status::OK();
      },
      ro));
  out.path = scan::PathOf(meta.engine(), dir);
  return out;
}

Result<Info> Get(Meta& meta, const std::string& path) {
  ASSIGN_OR_RETURN(Ino dir, Resolve(meta, path));
  auto info = GetByIno(meta, dir);
  if (!info.ok() && info.status().Is(Code::kNotFound)) {
    return Status::NotFound("no quota on " + path);
  }
  return info;
}

Result<std::vector<Info>> List(Meta& meta) {
  std::vector<Info> out;
  std::string from = "Q";
  const std::string end = schema::PrefixEnd("Q");
  kv::TxnOptions ro;
  ro.read_only = true;
  for (;;) {
    std::vector<kv::KeyValue> page;
    RETURN_IF_ERROR(kv::RunTxn(
        meta.engine(),
        [&](kv::Transaction& txn) -> Status {
          ASSIGN_OR_RETURN(page, txn.Scan(from, end, 1000));
          return Status::OK();
        },
        ro));
    for (const auto& kv : page) {
      if (kv.key.size() != 9) continue;
      auto r = DecodeRecord(kv.value);
      if (!r) continue;
      Info i;
      i.ino = GetU64BE(kv.key.data() + 1);
      i.record = *r;
      i.path = scan::PathOf(meta.engine(), i.ino);
      out.push_back(std::move(i));
    }
    if (page.size() < 1000) break;
    from = page.back().key + '\0';
  }
  return out;
}

Status Delete(Meta& meta, const std::string& path) {
  ASSIGN_OR_RETURN(Ino dir, Resolve(meta, path));
  return kv::RunTxn(meta.engine(), [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::QuotaKey(dir), EpochKey()}));
    if (!raw[0]) return Status::NotFound("no quota on " + path);
    txn.Delete(schema::QuotaKey(dir));
    BumpEpoch(txn, raw[1]);
    return Status::OK();
  });
}

}  // namespace strata::meta::quota

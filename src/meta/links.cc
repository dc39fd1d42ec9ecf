// Link bookkeeping shared by unlink, rmdir and rename (namespace_util.h): hard-link parent
// records, dropping a link, removing a directory's records.
#include "common/bytes.h"
#include "meta/internal.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta::internal {

Result<uint32_t> ReadParentCount(kv::Transaction& txn, Ino ino, Ino parent) {
  ASSIGN_OR_RETURN(auto raw, txn.Get(schema::ParentKey(ino, parent)));
  if (!raw) return 0u;
  if (raw->size() != 4) return Status::Corruption("hard-link parent record is not 4 bytes");
  return GetU32BE(raw->data());
}

void WriteParentCount(kv::Transaction& txn, Ino ino, Ino parent, uint32_t count) {
  if (count == 0) {
    txn.Delete(schema::ParentKey(ino, parent));
    return;
  }
  std::string v;
  PutU32BE(&v, count);
  txn.Put(schema::ParentKey(ino, parent), v);
}

Status DropLink(kv::Transaction& txn, Ino ino, Attr& a, Ino parent, const std::string& name,
                bool trash, uint64_t session_id, bool is_open, const Timespec& now) {
  if (a.nlink == 0) return Status::Corruption("inode with a directory entry has nlink 0");
  // The last link of a regular file goes to the trash when it is on (not from inside it).
  if (a.nlink == 1 && trash && parent < kTrashIno && a.type == FileType::kRegular) {
    return MoveToTrash(txn, ino, a, parent, name, now);
  }
  a.nlink--;
  a.ctime = now;
  RETURN_IF_ERROR(UpdateDirUsage(txn, parent, -UsageBytes(a), -1));
  if (a.parent == 0) {
    // Hard-linked: the parents are in A{ino}P{parent} records (few: one per directory).
    const std::string prefix = schema::ParentPrefix(ino);
    ASSIGN_OR_RETURN(auto recs, txn.Scan(prefix, schema::PrefixEnd(prefix), a.nlink + 2));
    Ino remaining = 0;
    for (const auto& kv : recs) {
      if (kv.key.size() != prefix.size() + 8 || kv.value.size() != 4) {
        return Status::Corruption("malformed hard-link parent record");
      }
      const Ino p = GetU64BE(kv.key.data() + prefix.size());
      uint32_t c = GetU32BE(kv.value.data());
      if (p == parent && c > 0) {
        c--;
        if (a.nlink >= 2) WriteParentCount(txn, ino, p, c);
      }
      if (c > 0) remaining = p;
      if (a.nlink < 2) txn.Delete(kv.key);
    }
    // Back to a single link: the remaining parent goes into the attr again, as for a file
    // that never had hard links, and the parent records are gone (deleted above).
    if (a.nlink == 1) a.parent = remaining;
  }
  if (a.nlink > 0) {
    WriteAttr(txn, ino, a);
    return Status::OK();
  }
  RETURN_IF_ERROR(UpdateVolumeUsage(txn, parent, -UsageBytes(a), -1));
  WriteAttr(txn, ino, a);
  return ReleaseInode(txn, ino, a, session_id, is_open, now.sec);
}

Status RemoveDirRecords(kv::Transaction& txn, Ino ino) {
  // A directory owns its attr and xattrs under A{ino}; an empty one has no entries left.
  const std::string prefix = schema::InodePrefix(ino);
  const std::string end = schema::PrefixEnd(prefix);
  std::string begin = prefix;
  while (true) {
    ASSIGN_OR_RETURN(auto batch, txn.Scan(begin, end, 256));
    for (const auto& kv : batch) txn.Delete(kv.key);
    if (batch.size() < 256) break;
    begin = batch.back().key + std::string(1, '\0');
  }
  txn.Delete(schema::UsageKey(ino));
  txn.Delete(schema::QuotaKey(ino));
  return Status::OK();
}

}  // namespace strata::meta::internal

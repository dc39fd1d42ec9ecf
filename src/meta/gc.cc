// Garbage bookkeeping (meta.h "Garbage", internal.h): inode release, slice reference counts,
// and the resumable expansion of deleted-file records into unreferenced slices.
//
// Crash safety of ProcessDeletedFiles: a D{ino}{len} record stays until the file's last chunk
// list is gone. Each transaction dereferences the slices of a few chunk lists AND deletes
// those lists, so a chunk's references are dropped exactly once whatever happens between
// transactions; the D record is deleted in the transaction that sees no chunk left. Two
// cleaners racing on one file conflict on the scanned chunk range and one retries.
#include <chrono>

#include "meta/file_util.h"
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {
namespace internal {
namespace {

// Deletes every key in [prefix, PrefixEnd(prefix)) inside txn.
Status DeleteRange(kv::Transaction& txn, const std::string& prefix) {
  const std::string end = schema::PrefixEnd(prefix);
  std::string begin = prefix;
  constexpr size_t kPage = 256;
  while (true) {
    ASSIGN_OR_RETURN(auto page, txn.Scan(begin, end, kPage));
    for (const auto& kv : page) txn.Delete(kv.key);
    if (page.size() < kPage) return Status::OK();
    begin = page.back().key + '\0';
  }
}

}  // namespace

Status ReleaseInode(kv::Transaction& txn, Ino ino, const Attr& attr, uint64_t session_id,
                    bool is_open, int64_t now_unix) {
  if (is_open && session_id != 0) {
    // Sustained: the attr (nlink 0) and data stay until the last close in this session or
    // the session's cleanup (sessions.cc).
    Attr a = attr;
    a.nlink = 0;
    WriteAttr(txn, ino, a);
    txn.Put(schema::SustainedKey(session_id, ino), "");
    return Status::OK();
  }
  if (attr.type == FileType::kRegular && attr.length > 0) {
    // Chunk lists only exist below the length (truncate drops the rest), so an empty file
    // needs no record.
    txn.Put(schema::DeletedFileKey(ino, attr.length), schema::EncodeI64(now_unix));
  }
  txn.Delete(schema::AttrKey(ino));
  txn.Delete(schema::SymlinkKey(ino));
  RETURN_IF_ERROR(DeleteRange(txn, schema::XattrPrefix(ino)));
  RETURN_IF_ERROR(DeleteRange(txn, schema::ParentPrefix(ino)));
  txn.Delete(schema::FlockKey(ino));
  txn.Delete(schema::PosixLockKey(ino));
  return Status::OK();
}

Status DerefSlice(kv::Transaction& txn, uint64_t id, uint32_t size) {
  if (id == 0) return Status::OK();
  const std::string key = schema::SliceRefKey(id, size);
  ASSIGN_OR_RETURN(auto raw, txn.Get(key));
  const int64_t refs = (raw ? schema::DecodeI64(*raw) : 1) - 1;
  if (refs <= 0) {
    txn.Delete(key);
    txn.Put(schema::GarbageSliceKey(id, size), "");
  } else if (refs == 1) {
    txn.Delete(key);  // absent means one reference
  } else {
    txn.Put(key, schema::EncodeI64(refs));
  }
  return Status::OK();
}

Status RefSlice(kv::Transaction& txn, uint64_t id, uint32_t size) {
  if (id == 0) return Status::OK();
  const std::string key = schema::SliceRefKey(id, size);
  ASSIGN_OR_RETURN(auto raw, txn.Get(key));
  const int64_t refs = (raw ? schema::DecodeI64(*raw) : 1) + 1;
  txn.Put(key, schema::EncodeI64(refs));
  return Status::OK();
}

}  // namespace internal

namespace {

// Chunk lists released per transaction: bounds a transaction to ~kChunksPerTxn * (slices per
// chunk) reference updates.
constexpr size_t kChunksPerTxn = 8;

// Releases the chunks of one deleted file, one bounded transaction at a time. Returns true
// when this call removed the D record (false when another cleaner finished it first).
Result<bool> ReleaseDeletedFile(kv::KvEngine& engine, const std::string& dkey, Ino ino) {
  const std::string begin = schema::ChunkPrefix(ino);
  const std::string end = schema::PrefixEnd(begin);
  while (true) {
    bool done = false, removed = false;
    RETURN_IF_ERROR(kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
      done = removed = false;
      ASSIGN_OR_RETURN(auto rec, txn.Get(dkey));
      if (!rec) {
        done = true;  // finished by someone else
        return Status::OK();
      }
      ASSIGN_OR_RETURN(auto page, txn.Scan(begin, end, kChunksPerTxn));
      for (const auto& kv : page) {
        ASSIGN_OR_RETURN(auto list, schema::DecodeSlices(kv.value));
        for (const Slice& s : list) RETURN_IF_ERROR(internal::DerefSlice(txn, s.id, s.size));
        txn.Delete(kv.key);
      }
      if (page.size() < kChunksPerTxn) {
        txn.Delete(dkey);
        done = removed = true;
      }
      return Status::OK();
    }));
    if (done) return removed;
  }
}

}  // namespace

Result<int> Meta::ProcessDeletedFiles(int limit) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (limit <= 0) return 0;
  std::vector<std::string> keys;
  kv::TxnOptions ro;
  ro.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        keys.clear();
        const std::string prefix = schema::DeletedFilePrefix();
        ASSIGN_OR_RETURN(auto page, txn.SnapshotScan(prefix, schema::PrefixEnd(prefix),
                                                     static_cast<size_t>(limit)));
        for (auto& kv : page) keys.push_back(std::move(kv.key));
        return Status::OK();
      },
      ro));
  int done = 0;
  for (const auto& key : keys) {
    Ino ino = 0;
    uint64_t length = 0;
    if (!schema::ParseDeletedFileKey(key, &ino, &length)) {
      return Status::Corruption("malformed deleted-file key");
    }
    ASSIGN_OR_RETURN(bool removed, ReleaseDeletedFile(*engine_, key, ino));
    if (removed) done++;
  }
  return done;
}

Result<std::vector<SliceRef>> Meta::PendingSliceDeletions(int limit) {
  std::vector<SliceRef> out;
  if (limit <= 0) return out;
  kv::TxnOptions ro;
  ro.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        out.clear();
        const std::string prefix = schema::GarbagePrefix();
        ASSIGN_OR_RETURN(auto page, txn.SnapshotScan(prefix, schema::PrefixEnd(prefix),
                                                     static_cast<size_t>(limit)));
        for (const auto& kv : page) {
          SliceRef ref;
          if (!schema::ParseSliceKey(kv.key, &ref.id, &ref.size)) {
            return Status::Corruption("malformed garbage slice key");
          }
          out.push_back(ref);
        }
        return Status::OK();
      },
      ro));
  return out;
}

Status Meta::ConfirmSliceDeleted(const SliceRef& ref) {
  if (options_.read_only) return internal::ReadOnlyError();
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    txn.Delete(schema::GarbageSliceKey(ref.id, ref.size));
    return Status::OK();
  });
}

}  // namespace strata::meta

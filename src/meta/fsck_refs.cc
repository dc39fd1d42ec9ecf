// Link counts of non-directories and slice reference counts (fsck_internal.h).
//
// Links: the walk recorded, for every non-directory whose links are not the plain case, the
// directories whose entries name it. Here each such inode's attr and A{ino}P records are read
// and compared with that: nlink == entries; one entry -> parent = its directory and no P
// records; several -> parent 0 and one P record per directory with its count.
//
// References: the slice table (sorted by id, size) is merged with the K records, which sort
// the same way (K{id:8}{size:4}, big-endian), in one pass; G records are looked up in it.
#include "common/bytes.h"
#include "meta/fsck_internal.h"
#include "meta/internal.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta::fsck_internal {
namespace {

std::string SliceWhere(uint64_t id, uint32_t size) {
  return "slice " + std::to_string(id) + " (size " + std::to_string(size) + ")";
}

}  // namespace

Status Checker::CheckLinks() {
  for (const auto& [ino, info] : links_) {
    uint32_t entries = 0;
    for (const auto& [dir, n] : info.dirs) entries += n;
    std::optional<Attr> attr;
    std::map<Ino, uint32_t> records;
    kv::TxnOptions ro;
    ro.read_only = true;
    RETURN_IF_ERROR(kv::RunTxn(
        engine_,
        [&](kv::Transaction& txn) -> Status {
          records.clear();
          ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(ino)));
          if (!raw) return Status::OK();
          ASSIGN_OR_RETURN(attr, schema::DecodeAttr(*raw));
          const std::string prefix = schema::ParentPrefix(ino);
          ASSIGN_OR_RETURN(auto page, txn.Scan(prefix, schema::PrefixEnd(prefix), 100000));
          for (const auto& kv : page) {
            if (kv.key.size() == prefix.size() + 8 && kv.value.size() == 4) {
              records[GetU64BE(kv.key.data() + prefix.size())] = GetU32BE(kv.value.data());
            }
          }
          return Status::OK();
        },
        ro));
    if (!attr) continue;  // removed since the walk (a live volume)
    const Ino want_parent = entries == 1 ? info.dirs.begin()->first : 0;
    std::map<Ino, uint32_t> want_records;
    if (entries > 1) want_records = info.dirs;
    if (attr->nlink == entries && attr->parent == want_parent && records == want_records) {
      continue;
    }
    std::string detail = "nlink " + std::to_string(attr->nlink) + ", parent " +
                         std::to_string(attr->parent) + ", " + std::to_string(records.size()) +
                         " link records; entries: " + std::to_string(entries) + " in " +
                         std::to_string(info.dirs.size()) + " directories";
    const Ino i = ino;
    const uint32_t nlink = entries;
    Problem(attr->nlink != entries ? "nlink" : "link-records", ino, scan::PathOf(engine_, ino),
            detail, [i, nlink, want_parent, want_records](kv::Transaction& txn) -> Status {
              ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, i));
              a.nlink = nlink;
              a.parent = want_parent;
              internal::WriteAttr(txn, i, a);
              const std::string prefix = schema::ParentPrefix(i);
              ASSIGN_OR_RETURN(auto page, txn.Scan(prefix, schema::PrefixEnd(prefix), 100000));
              for (const auto& kv : page) txn.Delete(kv.key);
              for (const auto& [dir, n] : want_records) internal::WriteParentCount(txn, i, dir, n);
              return Status::OK();
            });
  }
  for (Ino ino : stray_parents_) {
    if (links_.count(ino) > 0) continue;  // handled above
    const Ino i = ino;
    Problem("link-records", ino, scan::PathOf(engine_, ino),
            "has one link (parent field set) yet keeps hard-link parent records",
            [i](kv::Transaction& txn) -> Status {
              const std::string prefix = schema::ParentPrefix(i);
              ASSIGN_OR_RETURN(auto page, txn.Scan(prefix, schema::PrefixEnd(prefix), 100000));
              for (const auto& kv : page) txn.Delete(kv.key);
              return Status::OK();
            });
  }
  return Status::OK();
}

Status Checker::CheckSliceRefs() {
  auto& table = res_.slices.entries();
  size_t next = 0;  // table entries before this were merged with the K records
  auto want_key = [](uint64_t id, uint32_t size, uint32_t refs) {
    return [id, size, refs](kv::Transaction& txn) -> Status {
      if (refs == 1) {
        txn.Delete(schema::SliceRefKey(id, size));
      } else {
        txn.Put(schema::SliceRefKey(id, size), schema::EncodeI64(refs));
      }
      return Status::OK();
    };
  };
  auto check_absent = [&](const scan::SliceTable::Entry& e) {
    // No K record: one reference.
    if (e.refs != 1) {
      Problem("refcount", e.owner, SliceWhere(e.id, e.size),
              "no reference record (1), " + std::to_string(e.refs) + " chunk records name it",
              want_key(e.id, e.size, e.refs));
    }
  };
  RETURN_IF_ERROR(scan::ScanSliceKeys(
      engine_, "K", [&](uint64_t id, uint32_t size, std::string_view value) -> Status {
        auto before = [&](const scan::SliceTable::Entry& e) {
          return e.id != id ? e.id < id : e.size < size;
        };
        while (next < table.size() && before(table[next])) check_absent(table[next++]);
        const int64_t have = schema::DecodeI64(value);
        if (next < table.size() && table[next].id == id && table[next].size == size) {
          const auto& e = table[next++];
          if (have != static_cast<int64_t>(e.refs)) {
            Problem("refcount", e.owner, SliceWhere(id, size),
                    "reference record " + std::to_string(have) + ", " + std::to_string(e.refs) +
                        " chunk records name it",
                    want_key(id, size, e.refs));
          }
          return Status::OK();
        }
        Problem("refcount-unused", 0, SliceWhere(id, size),
                "reference record " + std::to_string(have) +
                    " but no chunk record names it (repair hands its blocks to the deleter)",
                [id, size](kv::Transaction& txn) -> Status {
                  txn.Delete(schema::SliceRefKey(id, size));
                  txn.Put(schema::GarbageSliceKey(id, size), "");
                  return Status::OK();
                });
        return Status::OK();
      }));
  while (next < table.size()) check_absent(table[next++]);
  return scan::ScanSliceKeys(
      engine_, "G", [&](uint64_t id, uint32_t size, std::string_view) -> Status {
        const scan::SliceTable::Entry* e = res_.slices.Find(id);
        if (e == nullptr || e->size != size) return Status::OK();
        Problem("garbage-referenced", e->owner, SliceWhere(id, size),
                "marked for deletion yet " + std::to_string(e->refs) +
                    " chunk records name it (its blocks may be deleted at any time)",
                [id, size](kv::Transaction& txn) -> Status {
                  txn.Delete(schema::GarbageSliceKey(id, size));
                  return Status::OK();
                });
        return Status::OK();
      });
}

}  // namespace strata::meta::fsck_internal

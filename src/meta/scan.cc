// Streaming metadata scans for fsck and gc (scan.h).
#include "meta/scan.h"

#include <algorithm>

#include "common/bytes.h"
#include "meta/schema.h"

namespace strata::meta::scan {

Status ForEachInRange(kv::KvEngine& engine, std::string_view begin, std::string_view end,
                      const RangeVisitor& fn, size_t page) {
  std::string from(begin);
  const std::string to(end);
  kv::TxnOptions ro;
  ro.read_only = true;
  while (true) {
    std::vector<kv::KeyValue> kvs;
    RETURN_IF_ERROR(kv::RunTxn(
        engine,
        [&](kv::Transaction& txn) -> Status {
          ASSIGN_OR_RETURN(kvs, txn.SnapshotScan(from, to, page));
          return Status::OK();
        },
        ro));
    std::optional<std::string> next;
    for (const auto& kv : kvs) {
      if (next && kv.key < *next) continue;  // inside a skip requested by fn
      ASSIGN_OR_RETURN(auto skip, fn(kv));
      next = skip ? std::move(skip) : std::nullopt;
      if (next && next->empty()) return Status::OK();  // "" = no upper bound left to scan
    }
    if (kvs.size() < page) return Status::OK();
    from = next ? *next : kvs.back().key + '\0';
    if (!next) continue;
    if (!to.empty() && from >= to) return Status::OK();
  }
}

namespace {

constexpr size_t kInoKeyLen = 10;  // 'A' ino:8 kind

}  // namespace

Status ScanInodes(kv::KvEngine& engine, const std::function<Status(InodeGroup&)>& fn, size_t page) {
  InodeGroup group;
  bool open = false;
  auto flush = [&]() -> Status {
    if (!open) return Status::OK();
    open = false;
    return fn(group);
  };
  RETURN_IF_ERROR(ForEachInRange(
      engine, "A", "B",
      [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
        const std::string& key = kv.key;
        if (key.size() < kInoKeyLen) return Status::Corruption("malformed inode key");
        const Ino ino = GetU64BE(key.data() + 1);
        if (!open || group.ino != ino) {
          RETURN_IF_ERROR(flush());
          group = InodeGroup{};
          group.ino = ino;
          open = true;
        }
        switch (key[9]) {
          case 'I': {
            auto a = schema::DecodeAttr(kv.value);
            if (!a.ok()) return a.status().WithContext("attr of inode " + std::to_string(ino));
            group.attr = *a;
            break;
          }
          case 'C': {
            Ino i;
            uint32_t chunk;
            if (!schema::ParseChunkKey(key, &i, &chunk)) {
              return Status::Corruption("malformed chunk key of inode " + std::to_string(ino));
            }
            auto list = schema::DecodeSlices(kv.value);
            if (!list.ok()) {
              return list.status().WithContext("chunk " + std::to_string(chunk) + " of inode " +
                                               std::to_string(ino));
            }
            group.slices.insert(group.slices.end(), list->begin(), list->end());
            group.chunk_lists++;
            group.last_chunk = chunk;
            break;
          }
          case 'D':
            group.has_entries = true;
            // Skip the rest of the directory's entries with one seek.
            return std::optional<std::string>(schema::PrefixEnd(schema::EntryPrefix(ino)));
          case 'P':
            if (key.size() != kInoKeyLen + 8 || kv.value.size() != 4) {
              return Status::Corruption("malformed parent record of inode " + std::to_string(ino));
            }
            group.parents.emplace_back(GetU64BE(key.data() + kInoKeyLen),
                                       GetU32BE(kv.value.data()));
            break;
          default:
            group.has_other = true;
            break;
        }
        return std::optional<std::string>();
      },
      page));
  return flush();
}

Result<std::vector<Slice>> ReadFileSlices(kv::KvEngine& engine, Ino ino) {
  std::vector<Slice> out;
  const std::string prefix = schema::ChunkPrefix(ino);
  RETURN_IF_ERROR(ForEachInRange(engine, prefix, schema::PrefixEnd(prefix),
                                 [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
                                   ASSIGN_OR_RETURN(auto list, schema::DecodeSlices(kv.value));
                                   out.insert(out.end(), list.begin(), list.end());
                                   return std::optional<std::string>();
                                 }));
  return out;
}

Result<uint64_t> ReadCounter(kv::KvEngine& engine, const std::string& name) {
  uint64_t v = 0;
  kv::TxnOptions ro;
  ro.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      engine,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(auto raw, txn.Get(schema::CounterKey(name)));
        v = raw && raw->size() == 8 ? GetU64BE(raw->data()) : 0;
        return Status::OK();
      },
      ro));
  return v;
}

void SliceTable::Add(uint64_t id, uint32_t size, Ino owner, uint32_t refs) {
  if (id == 0) return;  // holes are not stored
  entries_.push_back(Entry{id, owner, size, refs, 0});
  // Merge when the unmerged tail outgrows the merged part: memory stays within about twice
  // the distinct slices, and the total merge work is O(n log n).
  if (entries_.size() - merged_ > std::max<size_t>(merged_, 4096)) Merge();
}

void SliceTable::Merge() {
  std::sort(
      entries_.begin() + static_cast<ptrdiff_t>(merged_), entries_.end(),
      [](const Entry& a, const Entry& b) { return a.id != b.id ? a.id < b.id : a.size < b.size; });
  std::inplace_merge(
      entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(merged_), entries_.end(),
      [](const Entry& a, const Entry& b) { return a.id != b.id ? a.id < b.id : a.size < b.size; });
  size_t out = 0;
  for (size_t i = 0; i < entries_.size(); i++) {
    if (out > 0 && entries_[out - 1].id == entries_[i].id &&
        entries_[out - 1].size == entries_[i].size) {
      entries_[out - 1].refs += entries_[i].refs;
    } else {
      entries_[out++] = entries_[i];
    }
  }
  entries_.resize(out);
  merged_ = out;
}

void SliceTable::Finish() {
  Merge();
  entries_.shrink_to_fit();
}

SliceTable::Entry* SliceTable::Find(uint64_t id) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                             [](const Entry& e, uint64_t v) { return e.id < v; });
  return it != entries_.end() && it->id == id ? &*it : nullptr;
}

Status ScanSliceKeys(kv::KvEngine& engine, const std::string& prefix,
                     const std::function<Status(uint64_t, uint32_t, std::string_view)>& fn) {
  return ForEachInRange(engine, prefix, schema::PrefixEnd(prefix),
                        [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
                          uint64_t id;
                          uint32_t size;
                          if (!schema::ParseSliceKey(kv.key, &id, &size)) {
                            return Status::Corruption("malformed slice key under " + prefix);
                          }
                          RETURN_IF_ERROR(fn(id, size, kv.value));
                          return std::optional<std::string>();
                        });
}

namespace {

// The name of the entry in `dir` naming `ino`, by a scan of the directory.
std::optional<std::string> NameIn(kv::KvEngine& engine, Ino dir, Ino ino) {
  std::optional<std::string> found;
  const std::string prefix = schema::EntryPrefix(dir);
  Status s = ForEachInRange(engine, prefix, schema::PrefixEnd(prefix),
                            [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
                              FileType t;
                              Ino child = 0;
                              if (schema::DecodeEntry(kv.value, &t, &child).ok() && child == ino) {
                                found = kv.key.substr(prefix.size());
                                return std::optional<std::string>("");  // stop
                              }
                              return std::optional<std::string>();
                            });
  if (!s.ok()) return std::nullopt;  // a message helper: the caller prints "<inode N>"
  return found;
}

std::optional<Attr> GetAttrOf(kv::KvEngine& engine, Ino ino) {
  std::optional<Attr> out;
  kv::TxnOptions ro;
  ro.read_only = true;
  Status s = kv::RunTxn(
      engine,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(ino)));
        if (raw) {
          ASSIGN_OR_RETURN(out, schema::DecodeAttr(*raw));
        }
        return Status::OK();
      },
      ro);
  if (!s.ok()) return std::nullopt;  // as NameIn: shown as "<inode N>"
  return out;
}

}  // namespace

std::string PathOf(kv::KvEngine& engine, Ino ino) {
  if (ino == kRootIno) return "/";
  if (ino == kTrashIno) return "/.trash";
  std::string path;
  Ino cur = ino;
  for (int depth = 0; depth < 256 && cur != kRootIno; depth++) {
    if (cur == kTrashIno) {
      path = "/.trash" + path;
      return path;
    }
    auto attr = GetAttrOf(engine, cur);
    Ino parent = attr ? attr->parent : 0;
    if (attr && parent == 0) {
      const std::string prefix = schema::ParentPrefix(cur);
      Status s = ForEachInRange(engine, prefix, schema::PrefixEnd(prefix),
                                [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
                                  if (kv.key.size() == prefix.size() + 8) {
                                    parent = GetU64BE(kv.key.data() + prefix.size());
                                  }
                                  return std::optional<std::string>("");
                                });
      if (!s.ok()) parent = 0;
    }
    std::optional<std::string> name;
    if (parent != 0) name = NameIn(engine, parent, cur);
    if (!name) return "<inode " + std::to_string(cur) + ">" + path;
    path = "/" + *name + path;
    cur = parent;
  }
  return path.empty() ? "/" : path;
}

}  // namespace strata::meta::scan

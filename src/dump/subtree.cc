// The records of one subtree (dump --subdir DIR): DIR becomes the root (inode 1) of the image,
// every other inode keeps its number. Walked breadth-first from DIR; memory: the queue of
// directories still to visit, plus the hard-linked inodes and shared slices met (both rare).
//  - A hard-linked file (parent 0) is written after the walk, with nlink and hard-link parent
//    records counting only the links inside the subtree (one link left: parent set, no records).
//  - Slice references: a slice whose K record says it is shared is counted within the subtree
//    and written with that count (not written when it is 1); unshared slices need no record.
//  - The usage totals are recomputed for the subtree; G and D records (the volume's pending
//    deletions) and the trash are not part of a subtree.
#include <deque>
#include <map>
#include <set>

#include "common/bytes.h"
#include "dump/dumper.h"
#include "dump/records.h"
#include "meta/schema.h"

namespace strata::dump::internal {

using nlohmann::json;
namespace schema = meta::schema;
using meta::Ino;

namespace {

class SubtreeWalk {
 public:
  SubtreeWalk(Reader& r, const DumpOptions& o, const Emit& emit) : r_(r), o_(o), emit_(emit) {}

  Status Run() {
    ASSIGN_OR_RETURN(top_, Resolve(o_.subdir));
    RETURN_IF_ERROR(Globals());
    std::deque<Ino> dirs{top_};
    while (!dirs.empty()) {
      Ino d = dirs.front();
      dirs.pop_front();
      RETURN_IF_ERROR(Inode(d, std::nullopt));
      RETURN_IF_ERROR(Entries(d, &dirs));
    }
    for (const auto& [ino, parents] : linked_) RETURN_IF_ERROR(Inode(ino, parents));
    for (const auto& [key, count] : shared_) {
      if (count == 1) continue;
      json rec{{"t", "ref"}, {"id", key.first}, {"size", key.second}, {"count", count}};
      RETURN_IF_ERROR(emit_(rec));
    }
    json space{{"t", "counter"}, {"name", "usedSpace"}, {"value", used_space_}};
    RETURN_IF_ERROR(emit_(space));
    json inodes{{"t", "counter"}, {"name", "usedInodes"}, {"value", used_inodes_}};
    return emit_(inodes);
  }

 private:
  Ino Map(Ino ino) const { return ino == top_ ? meta::kRootIno : ino; }

  Result<Ino> Resolve(const std::string& path) {
    Ino cur = meta::kRootIno;
    size_t pos = 0;
    while (pos <= path.size()) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) slash = path.size();
      std::string part = path.substr(pos, slash - pos);
      pos = slash + 1;
      if (part.empty() || part == ".") continue;
      ASSIGN_OR_RETURN(auto v, r_.BatchGet({schema::EntryKey(cur, part)}));
      if (!v[0]) return Status::NotFound("--subdir " + path + ": no entry '" + part + "'");
      meta::FileType type;
      RETURN_IF_ERROR(schema::DecodeEntry(*v[0], &type, &cur));
      if (type != meta::FileType::kDirectory) {
        return Status(Code::kNotDir, "--subdir " + path + ": '" + part + "' is not a directory");
      }
    }
    return cur;
  }

  // Settings and the id counters (ids are never reused, so the volume's counters serve).
  Status Globals() {
    const std::vector<std::string> names = {"nextInode", "nextSlice", "nextSession",
                                            "capacityBytes", "maxInodes"};
    std::vector<std::string> keys = {schema::SettingKey()};
    for (const auto& n : names) keys.push_back(schema::CounterKey(n));
    ASSIGN_OR_RETURN(auto v, r_.BatchGet(keys));
    if (!v[0]) return Status::NotFound("volume is not formatted (no settings record)");
    ASSIGN_OR_RETURN(json setting, SettingRecord({keys[0], *v[0]}, o_.keep_secret_key));
    RETURN_IF_ERROR(emit_(setting));
    for (size_t i = 0; i < names.size(); i++) {
      if (!v[i + 1] || v[i + 1]->size() != 8) continue;
      json rec{{"t", "counter"}, {"name", names[i]}, {"value", GetU64BE(v[i + 1]->data())}};
      RETURN_IF_ERROR(emit_(rec));
    }
    return Status::OK();
  }

  // Every record of one inode but its entries (and its U/Q records for directories).
  // `links`: for a hard-linked file, the directories (mapped) holding its links in the subtree.
  Status Inode(Ino ino, const std::optional<std::map<Ino, uint32_t>>& links) {
    const std::string prefix = schema::InodePrefix(ino);
    const std::string entries = schema::EntryPrefix(ino);
    std::string begin = prefix, end = schema::PrefixEnd(prefix);
    bool is_dir = false;
    while (true) {
      ASSIGN_OR_RETURN(auto page, r_.Scan(begin, end, o_.page));
      for (const auto& kv : page) {
        if (kv.key.compare(0, entries.size(), entries) == 0) continue;  // skipped below
        const char sub = kv.key[9];
        if (sub == 'P') continue;  // rewritten from `links`
        ASSIGN_OR_RETURN(json rec, EncodeRecord(kv));
        if (sub == 'I') {
          ASSIGN_OR_RETURN(meta::Attr a, schema::DecodeAttr(kv.value));
          is_dir = a.type == meta::FileType::kDirectory;
          rec["ino"] = Map(ino);
          if (ino == top_) {
            rec["parent"] = meta::kRootIno;
          } else if (links) {
            uint32_t n = 0;
            for (const auto& [dir, count] : *links) n += count;
            rec["nlink"] = n;
            rec["parent"] = n == 1 ? links->begin()->first : 0;
          } else {
            rec["parent"] = Map(a.parent);
          }
          if (ino != top_) used_inodes_++;
          if (a.type == meta::FileType::kRegular) used_space_ += static_cast<int64_t>(a.length);
        } else if (sub == 'C') {
          RETURN_IF_ERROR(CountShared(kv.value));
        }
        RETURN_IF_ERROR(emit_(rec));
      }
      if (page.size() < o_.page) break;
      begin = page.back().key + '\0';
      // Entries sort between C and I: jump over them in one seek.
      if (begin > entries && begin < schema::PrefixEnd(entries)) begin = schema::PrefixEnd(entries);
    }
    if (links && links->size() > 0) {
      uint32_t n = 0;
      for (const auto& [dir, count] : *links) n += count;
      for (const auto& [dir, count] : *links) {
        if (n < 2) break;
        json rec{{"t", "link_parent"}, {"ino", ino}, {"dir", dir}, {"count", count}};
        RETURN_IF_ERROR(emit_(rec));
      }
    }
    if (!is_dir) return Status::OK();
    ASSIGN_OR_RETURN(auto v, r_.BatchGet({schema::UsageKey(ino), schema::QuotaKey(ino)}));
    for (size_t i = 0; i < 2; i++) {
      if (!v[i]) continue;
      ASSIGN_OR_RETURN(
          json rec, EncodeRecord({i == 0 ? schema::UsageKey(ino) : schema::QuotaKey(ino), *v[i]}));
      rec["ino"] = Map(ino);
      RETURN_IF_ERROR(emit_(rec));
    }
    return Status::OK();
  }

  // Entries of directory d; subdirectories go to the queue, other children are written now
  // (hard-linked ones after the walk).
  Status Entries(Ino d, std::deque<Ino>* dirs) {
    const std::string prefix = schema::EntryPrefix(d);
    std::string begin = prefix, end = schema::PrefixEnd(prefix);
    while (true) {
      ASSIGN_OR_RETURN(auto page, r_.Scan(begin, end, o_.page));
      std::vector<std::string> attr_keys;
      std::vector<Ino> children;
      for (const auto& kv : page) {
        ASSIGN_OR_RETURN(json rec, EncodeRecord(kv));
        rec["dir"] = Map(d);
        RETURN_IF_ERROR(emit_(rec));
        meta::FileType type;
        Ino child;
        RETURN_IF_ERROR(schema::DecodeEntry(kv.value, &type, &child));
        if (type == meta::FileType::kDirectory) {
          dirs->push_back(child);
        } else {
          attr_keys.push_back(schema::AttrKey(child));
          children.push_back(child);
        }
      }
      if (!attr_keys.empty()) {
        ASSIGN_OR_RETURN(auto attrs, r_.BatchGet(attr_keys));
        for (size_t i = 0; i < children.size(); i++) {
          if (!attrs[i]) continue;  // a dangling entry: dumped as it is
          ASSIGN_OR_RETURN(meta::Attr a, schema::DecodeAttr(*attrs[i]));
          if (a.parent == 0) {
            linked_[children[i]][Map(d)]++;
          } else {
            RETURN_IF_ERROR(Inode(children[i], std::nullopt));
          }
        }
      }
      if (page.size() < o_.page) return Status::OK();
      begin = page.back().key + '\0';
    }
  }

  // Records of shared slices (K present) in this chunk list, counted within the subtree.
  Status CountShared(const std::string& list) {
    ASSIGN_OR_RETURN(auto slices, schema::DecodeSlices(list));
    std::vector<std::string> keys;
    std::vector<std::pair<uint64_t, uint32_t>> ids;
    for (const auto& s : slices) {
      if (s.id == 0) continue;
      keys.push_back(schema::SliceRefKey(s.id, s.size));
      ids.emplace_back(s.id, s.size);
    }
    if (keys.empty()) return Status::OK();
    ASSIGN_OR_RETURN(auto refs, r_.BatchGet(keys));
    for (size_t i = 0; i < ids.size(); i++) {
      if (refs[i] || shared_.count(ids[i])) shared_[ids[i]]++;
    }
    return Status::OK();
  }

  Reader& r_;
  const DumpOptions& o_;
  const Emit& emit_;
  Ino top_ = meta::kRootIno;
  std::map<Ino, std::map<Ino, uint32_t>> linked_;
  std::map<std::pair<uint64_t, uint32_t>, int64_t> shared_;
  int64_t used_space_ = 0, used_inodes_ = 0;
};

}  // namespace

Status ProduceSubtree(Reader& r, const DumpOptions& o, const Emit& emit) {
  return SubtreeWalk(r, o, emit).Run();
}

}  // namespace strata::dump::internal

#include "meta/usage_tree.h"

#include "common/bytes.h"
#include "meta/scan.h"
#include "meta/schema.h"

namespace strata::meta::scan {
namespace {

constexpr size_t kAttrBatch = 512;

Status ReadParents(kv::KvEngine& engine, const std::vector<Ino>& inos,
                   std::unordered_map<Ino, UsageTree::Node>& nodes) {
  kv::TxnOptions ro;
  ro.read_only = true;
  for (size_t at = 0; at < inos.size(); at += kAttrBatch) {
    std::vector<std::string> keys;
    for (size_t i = at; i < inos.size() && i < at + kAttrBatch; i++) {
      keys.push_back(schema::AttrKey(inos[i]));
    }
    std::vector<std::optional<std::string>> raw;
    RETURN_IF_ERROR(kv::RunTxn(
        engine,
        [&](kv::Transaction& txn) -> Status {
          ASSIGN_OR_RETURN(raw, txn.BatchGet(keys));
          return Status::OK();
        },
        ro));
    for (size_t i = 0; i < raw.size(); i++) {
      if (!raw[i]) continue;  // removed since the usage scan: its record goes with it
      ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw[i]));
      nodes[inos[at + i]].parent = inos[at + i] == kRootIno ? 0 : a.parent;
    }
  }
  return Status::OK();
}

}  // namespace

Result<UsageTree> UsageTree::Build(kv::KvEngine& engine) {
  UsageTree t;
  std::vector<Ino> inos;
  const std::string begin = "U";
  RETURN_IF_ERROR(ForEachInRange(
      engine, begin, schema::PrefixEnd(begin),
      [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
        if (kv.key.size() != 9 || kv.value.size() != 16) {
          return Status::Corruption("bad usage record (key of " + std::to_string(kv.key.size()) +
                                    " bytes, value of " + std::to_string(kv.value.size()) + ")");
        }
        const Ino ino = GetU64BE(kv.key.data() + 1);
        Node& n = t.nodes_[ino];
        n.direct.bytes = schema::DecodeI64(std::string_view(kv.value).substr(0, 8));
        n.direct.inodes = schema::DecodeI64(std::string_view(kv.value).substr(8, 8));
        inos.push_back(ino);
        return std::optional<std::string>();
      }));
  RETURN_IF_ERROR(ReadParents(engine, inos, t.nodes_));
  // Each record's usage is added to its directory and every ancestor. Ancestors of a record
  // are directories with records themselves (see the header), so the chain stays in the map;
  // a chain that leaves it (a record removed mid-scan) just stops there.
  for (Ino ino : inos) {
    const DirUsage d = t.nodes_[ino].direct;
    Ino at = ino;
    for (int guard = 0; at != 0 && guard < 4096; guard++) {
      auto it = t.nodes_.find(at);
      if (it == t.nodes_.end()) break;
      it->second.total.bytes += d.bytes;
      it->second.total.inodes += d.inodes;
      at = it->second.parent;
    }
  }
  return t;
}

DirUsage UsageTree::Total(Ino dir) const {
  auto it = nodes_.find(dir);
  return it == nodes_.end() ? DirUsage{} : it->second.total;
}

DirUsage UsageTree::Direct(Ino dir) const {
  auto it = nodes_.find(dir);
  return it == nodes_.end() ? DirUsage{} : it->second.direct;
}

}  // namespace strata::meta::scan

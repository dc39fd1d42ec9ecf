#include "dump/dumper.h"

#include "common/bytes.h"
#include "common/crc32c.h"
#include "dump/records.h"
#include "meta/schema.h"

namespace strata::dump {

using nlohmann::json;
namespace schema = meta::schema;

namespace internal {

Result<json> SettingRecord(const kv::KeyValue& kv, bool keep_secret) {
  ASSIGN_OR_RETURN(json rec, EncodeRecord(kv));
  if (!keep_secret) rec["value"].erase("secret_key");
  return rec;
}

namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Not dumped: live state of running clients (docs/format/dump.md "What is left out").
bool Excluded(const std::string& key) {
  if (key.empty()) return false;
  switch (key[0]) {
    case 'S':  // SE sessions, SS sustained inodes
    case 'F':  // flock records
    case 'P':  // POSIX lock records
      return true;
    case 'C':
      return key == schema::CounterKey("cleanerLease");
    default:
      return false;
  }
}

}  // namespace

Status ProduceVolume(Reader& r, const DumpOptions& o, const Emit& emit) {
  int64_t used_space = 0, used_inodes = 0;
  meta::Ino skipped = 0;  // an nlink-0 inode whose remaining records are not dumped
  std::string begin;
  while (true) {
    ASSIGN_OR_RETURN(auto page, r.Scan(begin, "", o.page));
    for (const auto& kv : page) {
      const std::string& k = kv.key;
      if (Excluded(k)) continue;
      if (k == schema::SettingKey()) {
        ASSIGN_OR_RETURN(json rec, SettingRecord(kv, o.keep_secret_key));
        RETURN_IF_ERROR(emit(rec));
        continue;
      }
      if (k[0] == 'C' && kv.value.size() == 8) {
        std::string_view name = std::string_view(k).substr(1);
        if (name == "usedSpace" || StartsWith(name, "usedSpace/")) {
          used_space += schema::DecodeI64(kv.value);
          continue;
        }
        if (name == "usedInodes" || StartsWith(name, "usedInodes/")) {
          used_inodes += schema::DecodeI64(kv.value);
          continue;
        }
      }
      if (k[0] == 'A' && k.size() >= 10) {
        const meta::Ino ino = GetU64BE(k.data() + 1);
        if (k[9] == 'I') {
          auto attr = schema::DecodeAttr(kv.value);
          if (attr.ok() && attr->nlink == 0) {
            // Open but unlinked: what the session's cleanup would leave (its chunk lists,
            // dumped already as they sort first, and a deleted-file record).
            skipped = ino;
            if (attr->type == meta::FileType::kRegular && attr->length > 0) {
              json rec{{"t", "deleted"},
                       {"ino", ino},
                       {"length", attr->length},
                       {"time", attr->ctime.sec}};
              RETURN_IF_ERROR(emit(rec));
            }
            continue;
          }
          skipped = 0;
        } else if (ino == skipped && k[9] != 'C') {
          continue;
        }
      }
      ASSIGN_OR_RETURN(json rec, EncodeRecord(kv));
      RETURN_IF_ERROR(emit(rec));
    }
    if (page.size() < o.page) break;
    begin = page.back().key + '\0';
  }
  json space{{"t", "counter"}, {"name", "usedSpace"}, {"value", used_space}};
  RETURN_IF_ERROR(emit(space));
  json inodes{{"t", "counter"}, {"name", "usedInodes"}, {"value", used_inodes}};
  return emit(inodes);
}

}  // namespace internal

namespace {

// One read-only transaction for the whole dump (engines with snapshot reads).
class SnapshotReader : public internal::Reader {
 public:
  explicit SnapshotReader(std::unique_ptr<kv::Transaction> txn) : txn_(std::move(txn)) {}
  Result<std::vector<kv::KeyValue>> Scan(std::string_view begin, std::string_view end,
                                         size_t limit) override {
    return txn_->SnapshotScan(begin, end, limit);
  }
  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    return txn_->BatchGet(keys);
  }
  Status Finish() { return txn_->Commit(); }

 private:
  std::unique_ptr<kv::Transaction> txn_;
};

// One short read-only transaction per call (RunTxn's retries and budget).
class PagedReader : public internal::Reader {
 public:
  explicit PagedReader(kv::KvEngine& engine) : engine_(engine) {}
  Result<std::vector<kv::KeyValue>> Scan(std::string_view begin, std::string_view end,
                                         size_t limit) override {
    std::vector<kv::KeyValue> out;
    kv::TxnOptions opts;
    opts.read_only = true;
    RETURN_IF_ERROR(kv::RunTxn(
        engine_,
        [&](kv::Transaction& t) -> Status {
          ASSIGN_OR_RETURN(out, t.SnapshotScan(begin, end, limit));
          return Status::OK();
        },
        opts));
    return out;
  }
  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> out;
    kv::TxnOptions opts;
    opts.read_only = true;
    RETURN_IF_ERROR(kv::RunTxn(
        engine_,
        [&](kv::Transaction& t) -> Status {
          ASSIGN_OR_RETURN(out, t.BatchGet(keys));
          return Status::OK();
        },
        opts));
    return out;
  }

 private:
  kv::KvEngine& engine_;
};

// 96 bits over the record lines: FNV-1a 64 and CRC32C.
struct Digest {
  uint64_t fnv = 1469598103934665603ULL;
  uint32_t crc = 0;
  uint64_t lines = 0;
  void Add(std::string_view line) {
    for (unsigned char c : line) fnv = (fnv ^ c) * 1099511628211ULL;
    fnv = (fnv ^ '\n') * 1099511628211ULL;
    crc = Crc32cExtend(crc, line);
    lines++;
  }
  bool operator==(const Digest&) const = default;
};

Status Produce(internal::Reader& r, const DumpOptions& o, const internal::Emit& emit) {
  const bool whole = o.subdir.empty() || o.subdir == "/";
  return whole ? internal::ProduceVolume(r, o, emit) : internal::ProduceSubtree(r, o, emit);
}

}  // namespace

Result<DumpStats> Dump(kv::KvEngine& engine, const DumpOptions& options, const LineSink& sink,
                       Progress::Counter* records) {
  if (options.page == 0) return Status::InvalidArgument("dump page size must be positive");
  DumpStats stats;
  const bool snapshot = engine.SnapshotReads();
  stats.consistency = snapshot ? "snapshot" : options.check ? "checked" : "unchecked";
  json header{{"t", "header"},
              {"strata_dump", kDumpVersion},
              {"schema", meta::schema::kSchemaVersion},
              {"source", engine.Describe()},
              {"subdir", options.subdir.empty() ? "/" : options.subdir},
              {"consistency", stats.consistency},
              {"secret_key", options.keep_secret_key ? "kept" : "omitted"}};
  RETURN_IF_ERROR(sink(header.dump()));

  Digest first;
  auto emit = [&](json& rec) -> Status {
    std::string line = rec.dump();
    first.Add(line);
    stats.records++;
    if (rec["t"] == "attr") stats.inodes++;
    if (records != nullptr) records->Add(1);
    return sink(line);
  };
  if (snapshot) {
    ASSIGN_OR_RETURN(auto txn, engine.Begin(/*read_only=*/true));
    SnapshotReader r(std::move(txn));
    RETURN_IF_ERROR(Produce(r, options, emit));
    RETURN_IF_ERROR(r.Finish());
  } else {
    PagedReader r(engine);
    RETURN_IF_ERROR(Produce(r, options, emit));
    if (options.check) {
      Digest second;
      RETURN_IF_ERROR(Produce(r, options, [&](json& rec) -> Status {
        second.Add(rec.dump());
        return Status::OK();
      }));
      if (!(first == second)) {
        return Status::Conflict(
            "the volume changed while it was dumped (" + engine.Describe() +
            " has no snapshot reads, and a second read differed): run it again when writers "
            "are quiet, or pass --no-check for an unchecked dump");
      }
    }
  }
  json end{{"t", "end"}, {"records", stats.records}, {"inodes", stats.inodes}};
  RETURN_IF_ERROR(sink(end.dump()));
  return stats;
}

}  // namespace strata::dump

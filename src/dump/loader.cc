#include "dump/loader.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "dump/records.h"
#include "meta/format.h"
#include "meta/schema.h"

namespace strata::dump {

using nlohmann::json;

Status CheckEmpty(kv::KvEngine& engine) {
  std::vector<kv::KeyValue> first;
  kv::TxnOptions opts;
  opts.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      engine,
      [&](kv::Transaction& t) -> Status {
        ASSIGN_OR_RETURN(first, t.SnapshotScan("", "", 1));
        return Status::OK();
      },
      opts));
  if (!first.empty()) {
    const bool volume = first[0].key == meta::schema::SettingKey();
    return Status::AlreadyExists(
        "the target " + engine.Describe() + " is not empty (" +
        (volume ? std::string("it holds a formatted volume") : "it holds keys") +
        "): load restores only into an empty engine");
  }
  return Status::OK();
}

namespace {

// Reads lines of at most max_line bytes, keeping the line number and byte offset.
class LineReader {
 public:
  LineReader(std::istream& in, size_t max_line) : in_(in), max_(max_line) {}
  // false at the end of input. A final line without '\n' is returned too (partial() says so).
  Result<bool> Next(std::string* line) {
    line->clear();
    start_ = offset_;
    partial_ = false;
    while (true) {
      if (pos_ == len_) {
        in_.read(buf_, sizeof buf_);
        len_ = static_cast<size_t>(in_.gcount());
        pos_ = 0;
        if (len_ == 0) {
          if (in_.bad()) return Status::IOError("reading the dump failed");
          if (line->empty()) return false;
          partial_ = true;
          number_++;
          return true;
        }
      }
      const char* b = buf_ + pos_;
      const void* nl = memchr(b, '\n', len_ - pos_);
      size_t n = nl ? static_cast<const char*>(nl) - b : len_ - pos_;
      line->append(b, n);
      pos_ += n;
      offset_ += n;
      if (line->size() > max_) {
        return Status::Corruption("line " + std::to_string(number_ + 1) + " (byte " +
                                  std::to_string(start_) + ") is longer than " +
                                  std::to_string(max_) + " bytes");
      }
      if (nl) {
        pos_++;
        offset_++;
        number_++;
        return true;
      }
    }
  }
  uint64_t number() const { return number_; }
  uint64_t start() const { return start_; }
  uint64_t offset() const { return offset_; }
  bool partial() const { return partial_; }

 private:
  std::istream& in_;
  const size_t max_;
  char buf_[1 << 16];
  size_t pos_ = 0, len_ = 0;
  uint64_t number_ = 0, start_ = 0, offset_ = 0;
  bool partial_ = false;
};

class Loading {
 public:
  Loading(kv::KvEngine& engine, std::istream& in, const LoadOptions& o, Progress::Counter* records,
          Progress::Counter* bytes)
      : engine_(engine), lines_(in, o.max_line), o_(o), records_(records), bytes_(bytes) {}

  Result<LoadStats> Run() {
    Status s = Body();
    if (s.ok()) return stats_;
    if (stats_.transactions == 0) return s;
    Status c = engine_.Clear();
    if (!c.ok()) {
      return Status(s.code(), std::string(s.message()) +
                                  "; removing the records already loaded FAILED: " +
                                  std::string(c.message()) + " (clear the target by hand)");
    }
    return Status(s.code(), std::string(s.message()) + "; the target was emptied again");
  }

 private:
  Status Where(const Status& s) const {
    return Status(Code::kCorruption, "dump line " + std::to_string(lines_.number()) + " (byte " +
                                         std::to_string(lines_.start()) +
                                         "): " + std::string(s.message()));
  }

  Result<json> Parse(const std::string& line) const {
    try {
      return json::parse(line);
    } catch (const json::parse_error& e) {
      return Status::Corruption("not JSON (at byte " + std::to_string(lines_.start() + e.byte - 1) +
                                "): " + e.what());
    }
  }

  Status Header() {
    std::string line;
    ASSIGN_OR_RETURN(bool got, lines_.Next(&line));
    if (!got) return Status::Corruption("the dump is empty (no header line)");
    auto h = Parse(line);
    if (!h.ok()) return Where(h.status());
    if (!h->is_object() || h->value("t", "") != "header" || !h->contains("strata_dump")) {
      return Where(Status::Corruption("not a strata dump (the first line is not its header)"));
    }
    const json& v = (*h)["strata_dump"];
    if (!v.is_number_integer() || v.get<int64_t>() != kDumpVersion) {
      return Where(Status::Corruption("dump format version " + v.dump() + " is not " +
                                      std::to_string(kDumpVersion) +
                                      " (the one this strata reads)"));
    }
    const json& sv = h->value("schema", json());
    if (!sv.is_number_integer() || sv.get<int64_t>() > meta::schema::kSchemaVersion) {
      return Where(Status::Corruption("metadata schema " + sv.dump() + " is newer than " +
                                      std::to_string(meta::schema::kSchemaVersion)));
    }
    return Status::OK();
  }

  Status Body() {
    RETURN_IF_ERROR(CheckEmpty(engine_));
    RETURN_IF_ERROR(Header());
    std::string line;
    bool ended = false;
    while (true) {
      ASSIGN_OR_RETURN(bool got, lines_.Next(&line));
      if (bytes_ != nullptr) bytes_->Set(lines_.offset());
      if (!got) break;
      if (line.empty()) continue;
      if (ended) return Where(Status::Corruption("data after the end record"));
      if (lines_.partial()) {
        return Where(Status::Corruption("the last line has no newline (truncated dump)"));
      }
      auto rec = Parse(line);
      if (!rec.ok()) return Where(rec.status());
      if (rec->is_object() && rec->value("t", "") == "end") {
        const json& n = rec->value("records", json());
        if (!n.is_number_unsigned() || n.get<uint64_t>() != stats_.records) {
          return Where(Status::Corruption("the end record counts " + n.dump() +
                                          " records, the dump holds " +
                                          std::to_string(stats_.records)));
        }
        ended = true;
        continue;
      }
      auto kv = DecodeRecord(*rec);
      if (!kv.ok()) return Where(kv.status());
      stats_.records++;
      if ((*rec)["t"] == "attr") stats_.inodes++;
      if (records_ != nullptr) records_->Add(1);
      if (kv->key == meta::schema::SettingKey()) {
        setting_ = std::move(*kv);
        if (!o_.setting_overrides.empty()) {
          json v = (*rec)["value"];
          for (const auto& [k, x] : o_.setting_overrides.items()) v[k] = x;
          setting_.value = v.dump();
        }
        auto f = meta::VolumeFormat::FromJson(setting_.value);
        Status fv = f.ok() ? f->Validate() : f.status();
        if (!fv.ok())
          return Where(Status::Corruption("bad settings: " + std::string(fv.message())));
        continue;
      }
      batch_bytes_ += kv->key.size() + kv->value.size();
      batch_.push_back(std::move(*kv));
      if (batch_.size() >= o_.batch_records || batch_bytes_ >= o_.batch_bytes) {
        RETURN_IF_ERROR(Flush());
      }
    }
    stats_.bytes = lines_.offset();
    if (!ended) {
      return Status::Corruption("truncated dump: the input ended after line " +
                                std::to_string(lines_.number()) + " (byte " +
                                std::to_string(lines_.offset()) + ") without its end record");
    }
    if (setting_.key.empty()) {
      return Status::Corruption("the dump holds no settings record (not a volume)");
    }
    batch_.push_back(std::move(setting_));
    return Flush();
  }

  Status Flush() {
    if (batch_.empty()) return Status::OK();
    Status s = kv::RunTxn(engine_, [&](kv::Transaction& t) -> Status {
      for (const auto& kv : batch_) t.Put(kv.key, kv.value);
      return Status::OK();
    });
    // Count the attempt even when it failed: its outcome may be unknown, so clean up.
    stats_.transactions++;
    if (!s.ok()) return s.WithContext("writing to " + engine_.Describe());
    batch_.clear();
    batch_bytes_ = 0;
    return Status::OK();
  }

  kv::KvEngine& engine_;
  LineReader lines_;
  const LoadOptions& o_;
  Progress::Counter* records_;
  Progress::Counter* bytes_;
  LoadStats stats_;
  std::vector<kv::KeyValue> batch_;
  size_t batch_bytes_ = 0;
  kv::KeyValue setting_;
};

}  // namespace

Result<LoadStats> Load(kv::KvEngine& engine, std::istream& in, const LoadOptions& options,
                       Progress::Counter* records, Progress::Counter* bytes) {
  return Loading(engine, in, options, records, bytes).Run();
}

}  // namespace strata::dump

// Sessions (meta.h "Sessions"): the session records, the cleaner lease and the release of
// what a session holds (session_util.h), and Meta's session methods, which forward to its
// SessionManager (session_manager.h: the heartbeat thread and the cleaner rounds).
//
// Cleaner election: the counter key C"cleanerLease" holds (sid u64 | expiry s64). A client
// takes it when it is absent, expired or already its own, in one transaction (the engine's
// conflict detection makes the compare-and-set atomic), and keeps it by renewing it at each
// heartbeat; so at most one live client runs the cleanup jobs at a time.
#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "common/logging.h"
#include "meta/internal.h"
#include "meta/lock_records.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"
#include "meta/session_util.h"

namespace strata::meta {
namespace {

constexpr char kSessionCounter[] = "nextSession";
constexpr char kCleanerLease[] = "cleanerLease";
// Records handled per transaction by the cleanup steps.
constexpr size_t kCleanPage = 32;
// Deleted files expanded per background round.
constexpr int kDeletedFilesPerRound = 100;

std::string EncodeSession(const SessionInfo& s) {
  nlohmann::json j = {{"id", s.id},   {"host", s.host},       {"mount_point", s.mount_point},
                      {"pid", s.pid}, {"version", s.version}, {"expire", s.expire_unix}};
  if (s.staging.enabled) {
    j["staging"] = {{"bytes", s.staging.bytes},
                    {"blocks", s.staging.blocks},
                    {"oldest_slice", s.staging.oldest_slice},
                    {"dir", s.staging.dir}};
  }
  if (!s.cache_group.empty()) {  // written only by cache group members: older records match
    j["cache_group"] = s.cache_group;
    j["peer"] = s.peer_address;
    j["cache_weight"] = s.cache_weight;
  }
  return j.dump();
}

Result<SessionInfo> DecodeSession(uint64_t sid, std::string_view data) {
  auto j = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("undecodable session record");
  SessionInfo s;
  s.id = sid;
  s.host = j.value("host", "");
  s.mount_point = j.value("mount_point", "");
  s.pid = j.value("pid", 0u);
  s.version = j.value("version", "");
  s.expire_unix = j.value("expire", int64_t{0});
  if (auto st = j.find("staging"); st != j.end() && st->is_object()) {
    s.staging.enabled = true;
    s.staging.bytes = st->value("bytes", uint64_t{0});
    s.staging.blocks = st->value("blocks", uint64_t{0});
    s.staging.oldest_slice = st->value("oldest_slice", uint64_t{0});
    s.staging.dir = st->value("dir", "");
  }
  s.cache_group = j.value("cache_group", "");
  s.peer_address = j.value("peer", "");
  s.cache_weight = j.value("cache_weight", uint64_t{0});
  return s;
}

// Removes session sid's records from every lock key under `prefix` ("F" or "P").
Status DropSessionLocks(kv::KvEngine& engine, uint64_t sid, const std::string& prefix) {
  std::string begin = prefix;
  const std::string end = schema::PrefixEnd(prefix);
  while (true) {
    std::vector<std::string> keys;
    kv::TxnOptions ro;
    ro.read_only = true;
    RETURN_IF_ERROR(kv::RunTxn(
        engine,
        [&](kv::Transaction& txn) -> Status {
          keys.clear();
          ASSIGN_OR_RETURN(auto page, txn.SnapshotScan(begin, end, kCleanPage));
          for (auto& kv : page) keys.push_back(std::move(kv.key));
          return Status::OK();
        },
        ro));
    for (const auto& key : keys) {
      RETURN_IF_ERROR(kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(auto raw, txn.Get(key));
        if (!raw) return Status::OK();
        std::string next;
        if (prefix == "F") {
          ASSIGN_OR_RETURN(auto recs, DecodeFlocks(*raw));
          const size_t before = recs.size();
          DropFlocks(recs, sid, std::nullopt);
          if (recs.size() == before) return Status::OK();
          next = EncodeFlocks(recs);
        } else {
          ASSIGN_OR_RETURN(auto recs, DecodePosixLocks(*raw));
          const size_t before = recs.size();
          DropPosixLocks(recs, sid, std::nullopt);
          if (recs.size() == before) return Status::OK();
          next = EncodePosixLocks(recs);
        }
        if (next.empty()) {
          txn.Delete(key);
        } else {
          txn.Put(key, next);
        }
        return Status::OK();
      }));
    }
    if (keys.size() < kCleanPage) return Status::OK();
    begin = keys.back() + '\0';
  }
}

}  // namespace

namespace internal {

Result<uint64_t> CreateSession(kv::KvEngine& engine, const SessionInfo& info, int64_t expire_unix) {
  uint64_t sid = 0;
  RETURN_IF_ERROR(kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    const std::string key = schema::CounterKey(kSessionCounter);
    ASSIGN_OR_RETURN(auto raw, txn.Get(key));
    sid = (raw && raw->size() == 8 ? GetU64BE(raw->data()) : 0) + 1;
    std::string v;
    PutU64BE(&v, sid);
    txn.Put(key, v);
    SessionInfo s = info;
    s.id = sid;
    s.expire_unix = expire_unix;
    txn.Put(schema::SessionKey(sid), EncodeSession(s));
    return Status::OK();
  }));
  return sid;
}

Status WriteHeartbeat(kv::KvEngine& engine, uint64_t sid, int64_t expire_unix,
                      const SessionInfo& registered, const SessionStaging* staging) {
  return kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw, txn.Get(schema::SessionKey(sid)));
    SessionInfo s = registered;  // what a recreated record says (cache group peers need it)
    s.id = sid;
    if (raw) {
      auto d = DecodeSession(sid, *raw);
      if (d.ok()) s = *d;
    }
    s.expire_unix = expire_unix;
    if (staging) s.staging = *staging;
    txn.Put(schema::SessionKey(sid), EncodeSession(s));
    return Status::OK();
  });
}

Result<bool> TakeCleanerLease(kv::KvEngine& engine, uint64_t sid, int64_t now_unix,
                              int expiry_seconds) {
  bool held = false;
  RETURN_IF_ERROR(kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    held = false;
    const std::string key = schema::CounterKey(kCleanerLease);
    ASSIGN_OR_RETURN(auto raw, txn.Get(key));
    if (raw && raw->size() == 16) {
      const uint64_t holder = GetU64BE(raw->data());
      const int64_t expire = static_cast<int64_t>(GetU64BE(raw->data() + 8));
      if (holder != sid && expire >= now_unix) return Status::OK();  // someone else's, valid
    }
    std::string v;
    PutU64BE(&v, sid);
    PutU64BE(&v, static_cast<uint64_t>(now_unix + expiry_seconds));
    txn.Put(key, v);
    held = true;
    return Status::OK();
  }));
  return held;
}

Result<std::vector<SessionInfo>> ListSessions(kv::KvEngine& engine) {
  std::vector<SessionInfo> out;
  const std::string prefix = schema::SessionPrefix();
  const std::string end = schema::PrefixEnd(prefix);
  std::string begin = prefix;
  kv::TxnOptions ro;
  ro.read_only = true;
  while (true) {
    std::vector<kv::KeyValue> page;
    RETURN_IF_ERROR(kv::RunTxn(
        engine,
        [&](kv::Transaction& txn) -> Status {
          ASSIGN_OR_RETURN(page, txn.SnapshotScan(begin, end, kCleanPage));
          return Status::OK();
        },
        ro));
    for (const auto& kv : page) {
      if (kv.key.size() != prefix.size() + 8) return Status::Corruption("bad session key");
      ASSIGN_OR_RETURN(auto s, DecodeSession(GetU64BE(kv.key.data() + 2), kv.value));
      out.push_back(std::move(s));
    }
    if (page.size() < kCleanPage) return out;
    begin = page.back().key + '\0';
  }
}

Status ReleaseSustained(kv::Transaction& txn, uint64_t sid, Ino ino, int64_t now_unix) {
  const std::string key = schema::SustainedKey(sid, ino);
  ASSIGN_OR_RETURN(auto rec, txn.Get(key));
  if (!rec) return Status::OK();
  txn.Delete(key);
  ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(ino)));
  if (!raw) return Status::OK();
  ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw));
  if (a.nlink > 0) return Status::OK();  // linked again meanwhile (not possible today)
  return ReleaseInode(txn, ino, a, 0, false, now_unix);
}

Status CleanSession(kv::KvEngine& engine, uint64_t sid, int64_t now_unix) {
  const std::string prefix = schema::SustainedPrefix(sid);
  const std::string end = schema::PrefixEnd(prefix);
  while (true) {
    size_t n = 0;
    RETURN_IF_ERROR(kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
      ASSIGN_OR_RETURN(auto page, txn.Scan(prefix, end, kCleanPage));
      n = page.size();
      for (const auto& kv : page) {
        uint64_t s = 0;
        Ino ino = 0;
        if (!schema::ParseSustainedKey(kv.key, &s, &ino)) {
          return Status::Corruption("malformed sustained-inode key");
        }
        RETURN_IF_ERROR(ReleaseSustained(txn, sid, ino, now_unix));
      }
      return Status::OK();
    }));
    if (n < kCleanPage) break;
  }
  RETURN_IF_ERROR(DropSessionLocks(engine, sid, "F"));
  RETURN_IF_ERROR(DropSessionLocks(engine, sid, "P"));
  return kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    txn.Delete(schema::SessionKey(sid));
    return Status::OK();
  });
}

}  // namespace internal

Status Meta::NewSession(const SessionInfo& info) {
  if (options_.read_only) return internal::ReadOnlyError();
  RETURN_IF_ERROR(sessions_.Start(info));
  lock_waiter_.Resume();  // a closed session had cancelled them
  return Status::OK();
}

Status Meta::CloseSession() {
  // Waiters first: they give up with kInterrupted instead of retrying against a session whose
  // locks are being dropped.
  lock_waiter_.Cancel();
  open_files_.Clear();
  return sessions_.Close();
}

Result<std::vector<SessionInfo>> Meta::ListSessions() { return sessions_.List(); }

Result<int> Meta::CleanupExpiredSessions(int64_t now_unix) {
  if (options_.read_only) return internal::ReadOnlyError();
  return sessions_.CleanupExpired(now_unix);
}

void Meta::RunCleanerJobs() {
  // Failures are logged and the round goes on: the next round retries, and a client whose
  // engine is down cannot report them anywhere better (its requests fail instead).
  Result<int> released = ProcessDeletedFiles(kDeletedFilesPerRound);
  if (!released.ok()) {
    LOG_WARN("session {}: releasing the data of deleted files failed: {}", session_id(),
             released.status().ToString());
  }
  if (format_.trash_days > 0) {
    Result<int> expired =
        internal::ExpireTrash(*engine_, format_.trash_days, internal::Now(*clock_).sec);
    if (!expired.ok()) {
      LOG_WARN("session {}: trash expiry failed: {}", session_id(), expired.status().ToString());
    }
  }
}

}  // namespace strata::meta

// Sessions and open files (meta.h): the session record with its heartbeat, the background
// thread (heartbeat; as the elected cleaner: expired sessions, deleted files, trash expiry),
// and the open counts that keep an unlinked file's data until its last close.
//
// Cleaner election: the counter key C"cleanerLease" holds (sid u64 | expiry s64). A client
// takes it when it is absent, expired or already its own, in one transaction (the engine's
// conflict detection makes the compare-and-set atomic), and keeps it by renewing it at each
// heartbeat; so at most one live client runs the cleanup jobs at a time.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/bytes.h"
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

int64_t NowUnix() { return internal::Now().sec; }

std::string EncodeSession(const SessionInfo& s) {
  nlohmann::json j = {{"id", s.id},   {"host", s.host},       {"mount_point", s.mount_point},
                      {"pid", s.pid}, {"version", s.version}, {"expire", s.expire_unix}};
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
  return s;
}

// Sets the session's expiry to now + expiry (recreating a record that a cleaner removed while
// this client was stalled: the client is alive after all; its released locks stay released).
Status Heartbeat(kv::KvEngine& engine, uint64_t sid, int expiry_seconds) {
  return kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw, txn.Get(schema::SessionKey(sid)));
    SessionInfo s;
    s.id = sid;
    if (raw) {
      auto d = DecodeSession(sid, *raw);
      if (d.ok()) s = *d;
    }
    s.expire_unix = NowUnix() + expiry_seconds;
    txn.Put(schema::SessionKey(sid), EncodeSession(s));
    return Status::OK();
  });
}

// The lease compare-and-set; true when this session holds the cleaner lease afterwards.
Result<bool> TakeCleanerLease(kv::KvEngine& engine, uint64_t sid, int expiry_seconds) {
  bool held = false;
  RETURN_IF_ERROR(kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    held = false;
    const std::string key = schema::CounterKey(kCleanerLease);
    ASSIGN_OR_RETURN(auto raw, txn.Get(key));
    const int64_t now = NowUnix();
    if (raw && raw->size() == 16) {
      const uint64_t holder = GetU64BE(raw->data());
      const int64_t expire = static_cast<int64_t>(GetU64BE(raw->data() + 8));
      if (holder != sid && expire >= now) return Status::OK();  // someone else's, still valid
    }
    std::string v;
    PutU64BE(&v, sid);
    PutU64BE(&v, static_cast<uint64_t>(now + expiry_seconds));
    txn.Put(key, v);
    held = true;
    return Status::OK();
  }));
  return held;
}

// Releases the sustained inode `ino` of session `sid` if its SS record is still there.
Status ReleaseSustained(kv::Transaction& txn, uint64_t sid, Ino ino) {
  const std::string key = schema::SustainedKey(sid, ino);
  ASSIGN_OR_RETURN(auto rec, txn.Get(key));
  if (!rec) return Status::OK();
  txn.Delete(key);
  ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(ino)));
  if (!raw) return Status::OK();
  ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw));
  if (a.nlink > 0) return Status::OK();  // linked again meanwhile (not possible today)
  return internal::ReleaseInode(txn, ino, a, 0, false);
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

Status CleanSession(kv::KvEngine& engine, uint64_t sid) {
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
        RETURN_IF_ERROR(ReleaseSustained(txn, sid, ino));
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
  if (session_id_ != 0) return Status::AlreadyExists("this client already has a session");
  uint64_t sid = 0;
  SessionInfo s = info;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    const std::string key = schema::CounterKey(kSessionCounter);
    ASSIGN_OR_RETURN(auto raw, txn.Get(key));
    sid = (raw && raw->size() == 8 ? GetU64BE(raw->data()) : 0) + 1;
    std::string v;
    PutU64BE(&v, sid);
    txn.Put(key, v);
    s.id = sid;
    s.expire_unix = NowUnix() + options_.session_expiry_seconds;
    txn.Put(schema::SessionKey(sid), EncodeSession(s));
    return Status::OK();
  }));
  session_id_ = sid;
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_stop_ = false;
  }
  bg_thread_ = std::thread(&Meta::BackgroundLoop, this);
  return Status::OK();
}

void Meta::BackgroundLoop() {
  const uint64_t sid = session_id_;
  std::unique_lock<std::mutex> lock(bg_mu_);
  while (!bg_stop_) {
    bg_cv_.wait_for(lock, std::chrono::seconds(options_.heartbeat_seconds),
                    [this] { return bg_stop_; });
    if (bg_stop_) break;
    lock.unlock();
    // Errors of one round are deliberately dropped: the next round retries, and a client
    // whose engine is down cannot report them anywhere better (its requests fail instead).
    Status hb = Heartbeat(*engine_, sid, options_.session_expiry_seconds);
    (void)hb;
    if (options_.background_jobs) {
      auto lease = TakeCleanerLease(*engine_, sid, options_.session_expiry_seconds);
      if (lease.ok() && *lease) {
        auto cleaned = CleanupExpiredSessions(NowUnix());
        (void)cleaned;
        auto released = ProcessDeletedFiles(kDeletedFilesPerRound);
        (void)released;
        if (format_.trash_days > 0) {
          auto expired = internal::ExpireTrash(*engine_, format_.trash_days, NowUnix());
          (void)expired;
        }
      }
    }
    lock.lock();
  }
}

Status Meta::CloseSession() {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
  const uint64_t sid = session_id_.exchange(0);
  if (sid == 0) return Status::OK();
  {
    std::lock_guard<std::mutex> lock(open_mu_);
    open_counts_.clear();
  }
  return internal::CleanSession(*engine_, sid);
}

Result<std::vector<SessionInfo>> Meta::ListSessions() {
  std::vector<SessionInfo> out;
  const std::string prefix = schema::SessionPrefix();
  const std::string end = schema::PrefixEnd(prefix);
  std::string begin = prefix;
  kv::TxnOptions ro;
  ro.read_only = true;
  while (true) {
    std::vector<kv::KeyValue> page;
    RETURN_IF_ERROR(kv::RunTxn(
        *engine_,
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

Result<int> Meta::CleanupExpiredSessions(int64_t now_unix) {
  if (options_.read_only) return internal::ReadOnlyError();
  ASSIGN_OR_RETURN(auto sessions, ListSessions());
  int cleaned = 0;
  for (const auto& s : sessions) {
    if (s.id == session_id_ || s.expire_unix >= now_unix) continue;
    RETURN_IF_ERROR(internal::CleanSession(*engine_, s.id));
    cleaned++;
  }
  return cleaned;
}

Result<Attr> Meta::OpenFile(const Context& ctx, Ino ino, int flags) {
  int mask = 0;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      mask = 4;
      break;
    case O_WRONLY:
      mask = 2;
      break;
    case O_RDWR:
      mask = 6;
      break;
    default:
      return Status::InvalidArgument("bad open access mode");
  }
  if (flags & O_TRUNC) mask |= 2;
  if ((mask & 2) && options_.read_only) return internal::ReadOnlyError();
  ASSIGN_OR_RETURN(Attr attr, GetAttr(ino));
  if (attr.type == FileType::kDirectory && (mask & 2)) {
    return Status(Code::kIsDir, "a directory cannot be opened for writing");
  }
  RETURN_IF_ERROR(internal::CheckAccess(ctx, attr, mask));
  std::lock_guard<std::mutex> lock(open_mu_);
  open_counts_[ino]++;
  return attr;
}

Status Meta::CloseFile(Ino ino) {
  {
    std::lock_guard<std::mutex> lock(open_mu_);
    auto it = open_counts_.find(ino);
    if (it == open_counts_.end()) return Status(Code::kBadHandle, "inode is not open");
    if (--it->second > 0) return Status::OK();
    open_counts_.erase(it);
  }
  const uint64_t sid = session_id_;
  if (sid == 0 || options_.read_only) return Status::OK();
  // Last close: an inode unlinked while open in this session is released now.
  return kv::RunTxn(
      *engine_, [&](kv::Transaction& txn) -> Status { return ReleaseSustained(txn, sid, ino); });
}

}  // namespace strata::meta

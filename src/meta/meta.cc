// Meta (meta.h): opening a volume, formatting it, and its settings record.
#include "meta/meta.h"

#include <random>

#include "common/bytes.h"
#include "common/logging.h"
#include "meta/internal.h"
#include "meta/namespace_util.h"
#include "meta/quota_kv.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

// A random RFC 4122 version-4 UUID.
std::string NewUuid() {
  std::random_device rd;
  uint8_t b[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t r = rd();
    for (int j = 0; j < 4; j++) b[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 15]);
  }
  return s;
}

std::string U64(uint64_t v) {
  std::string s;
  PutU64BE(&s, v);
  return s;
}

// The settings record and the limit counters that mirror it, in the caller's transaction.
void WriteSettings(kv::Transaction& txn, const VolumeFormat& f) {
  txn.Put(schema::SettingKey(), f.ToJson());
  txn.Put(schema::CounterKey(internal::kCapacityCounter), U64(f.capacity_bytes));
  txn.Put(schema::CounterKey(internal::kMaxInodesCounter), U64(f.max_inodes));
}

Result<std::optional<VolumeFormat>> ReadSettings(kv::Transaction& txn) {
  ASSIGN_OR_RETURN(auto raw, txn.Get(schema::SettingKey()));
  if (!raw) return std::optional<VolumeFormat>();
  ASSIGN_OR_RETURN(auto f, VolumeFormat::FromJson(*raw));
  return std::optional<VolumeFormat>(std::move(f));
}

}  // namespace

namespace internal {

Timespec Now(const Clock& clock) {
  const int64_t ns = clock.NowNanos();
  return Timespec{ns / 1000000000, static_cast<uint32_t>(ns % 1000000000)};
}

void TouchDir(Attr& dir, const Timespec& now) {
  const bool later =
      now.sec > dir.ctime.sec || (now.sec == dir.ctime.sec && now.nsec > dir.ctime.nsec);
  Timespec t = now;
  if (!later) {
    t = dir.ctime;
    if (++t.nsec >= 1000000000) {
      t.nsec = 0;
      t.sec++;
    }
  }
  dir.mtime = dir.ctime = t;
}

}  // namespace internal

Status MetaOptions::Validate() const {
  if (clock == nullptr) return Status::InvalidArgument("meta options need a clock");
  if (heartbeat_seconds <= 0) return Status::InvalidArgument("heartbeat must be positive");
  if (session_expiry_seconds <= heartbeat_seconds) {
    return Status::InvalidArgument("session expiry must be longer than the heartbeat period");
  }
  if (id_batch <= 0 || id_batch > 1000000) {
    return Status::InvalidArgument("id batch must be in 1..1000000");
  }
  if (dir_attr_cache_ms < 0 || dir_attr_cache_ms > 60000) {
    return Status::InvalidArgument("directory attr cache time must be in 0..60000 ms");
  }
  if (dir_names_cache_ms < 0 || dir_names_cache_ms > 60000) {
    return Status::InvalidArgument("directory names cache time must be in 0..60000 ms");
  }
  return Status::OK();
}

Status Meta::Format(kv::KvEngine& engine, const VolumeFormat& format, bool force,
                    const Clock& clock) {
  RETURN_IF_ERROR(format.Validate());
  return kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto old, ReadSettings(txn));
    VolumeFormat f = format;
    if (old) {
      const bool layout_changes = old->name != f.name || old->block_size != f.block_size ||
                                  old->compression != f.compression;
      if (force && layout_changes) {
        // Block keys carry the name, and blocks are cut and encoded by block size and
        // compression: changing any of them under existing data makes every file unreadable.
        ASSIGN_OR_RETURN(auto slices, txn.Get(schema::CounterKey(internal::kNextSliceCounter)));
        if (slices) {
          return Status::AlreadyExists(
              "volume '" + old->name + "' holds data (block size " +
              std::to_string(old->block_size) + ", compression " + old->compression +
              "): changing its name, block size or compression would make its files "
              "unreadable, even with --force; format another engine or database instead");
        }
      }
      if (!force) {
        if (old->name != f.name) {
          return Status::AlreadyExists("the engine already holds volume '" + old->name +
                                       "' (use --force to re-format it as '" + f.name + "')");
        }
        if (old->block_size != f.block_size || old->compression != f.compression) {
          return Status::AlreadyExists(
              "volume '" + old->name + "' was formatted with block size " +
              std::to_string(old->block_size) + " and compression " + old->compression +
              "; re-formatting with other values needs --force");
        }
      }
      // The same volume keeps its identity: the store's strata.uuid object names it.
      f.uuid = old->uuid;
    } else if (f.uuid.empty()) {
      f.uuid = NewUuid();
    }
    WriteSettings(txn, f);
    ASSIGN_OR_RETURN(auto root, txn.Get(schema::AttrKey(kRootIno)));
    if (!root) {
      Attr a;
      a.type = FileType::kDirectory;
      a.mode = 0777;  // everyone may create at the top, as on a fresh shared volume
      a.atime = a.mtime = a.ctime = internal::Now(clock);
      a.nlink = 2;
      a.length = 4096;
      a.parent = kRootIno;
      internal::WriteAttr(txn, kRootIno, a);
    }
    auto next = schema::CounterKey(internal::kNextInodeCounter);
    ASSIGN_OR_RETURN(auto n, txn.Get(next));
    if (!n) txn.Put(next, U64(kRootIno + 1));
    return Status::OK();
  });
}

Result<VolumeFormat> Meta::LoadFormat(kv::KvEngine& engine) {
  std::optional<VolumeFormat> out;
  kv::TxnOptions opts;
  opts.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      engine,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(out, ReadSettings(txn));
        return Status::OK();
      },
      opts));
  if (!out) return Status::NotFound("volume is not formatted (run `strata format` first)");
  return std::move(*out);
}

Status Meta::UpdateFormat(const std::function<Status(VolumeFormat&)>& fn) {
  if (options_.read_only) return internal::ReadOnlyError();
  // format_ is not replaced: other threads read it without a lock. Capacity and inode limits
  // take effect at once everywhere (they are read from counters in each transaction); the
  // other settings at the next Open.
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto cur, ReadSettings(txn));
    if (!cur) return Status::NotFound("volume is not formatted");
    VolumeFormat f = *cur;
    RETURN_IF_ERROR(fn(f));
    RETURN_IF_ERROR(f.Validate());
    if (f.name != cur->name || f.uuid != cur->uuid || f.block_size != cur->block_size ||
        f.compression != cur->compression) {
      return Status::InvalidArgument(
          "name, uuid, block size and compression are fixed at format time");
    }
    WriteSettings(txn, f);
    return Status::OK();
  });
}

Result<std::unique_ptr<Meta>> Meta::Open(std::shared_ptr<kv::KvEngine> engine,
                                         const MetaOptions& options) {
  if (!engine) return Status::InvalidArgument("no metadata engine");
  RETURN_IF_ERROR(options.Validate());
  ASSIGN_OR_RETURN(auto format, LoadFormat(*engine));
  return std::unique_ptr<Meta>(new Meta(std::move(engine), options, std::move(format)));
}

Meta::Meta(std::shared_ptr<kv::KvEngine> engine, const MetaOptions& options, VolumeFormat format)
    : quota_(std::make_shared<quota::Tracker>(options.clock, quota::Bounds{})),
      engine_(std::make_shared<quota::QuotaKv>(std::move(engine), quota_)),
      options_(options),
      format_(std::move(format)),
      clock_(options.clock),
      no_xattrs_(options.clock, std::chrono::milliseconds(options.no_xattr_cache_ms)),
      lock_waiter_(options.clock),
      sessions_(engine_.get(),
                SessionManager::Options{.heartbeat_seconds = options.heartbeat_seconds,
                                        .expiry_seconds = options.session_expiry_seconds,
                                        .run_cleaner = options.background_jobs,
                                        .clock = options.clock},
                [this] { RunCleanerJobs(); }) {
  if (options.dir_attr_cache_ms > 0) {
    dir_attrs_ = std::make_shared<DirAttrCache>(
        options.clock, std::chrono::milliseconds(options.dir_attr_cache_ms));
    engine_->AddCommitObserver(dir_attrs_);
  }
  if (options.dir_names_cache_ms > 0) {
    dir_names_ = std::make_shared<DirNamesCache>(
        options.clock, std::chrono::milliseconds(options.dir_names_cache_ms));
    engine_->AddCommitObserver(dir_names_);
  }
}

std::optional<DirAttrCache::Hit> Meta::CachedDirAttr(Ino ino, std::chrono::nanoseconds max_age) {
  if (!dir_attrs_) return std::nullopt;
  return dir_attrs_->Get(ino, max_age);
}

Meta::~Meta() {
  if (dir_attrs_) engine_->RemoveCommitObserver(dir_attrs_.get());
  if (dir_names_) engine_->RemoveCommitObserver(dir_names_.get());
  // A destructor cannot report, so a failure is logged: an unclosed session expires by
  // itself and its owner's leftovers are cleaned by another client.
  const uint64_t sid = session_id();
  Status s = CloseSession();
  if (!s.ok()) {
    LOG_WARN("session {}: closing failed, it expires and another client cleans it up: {}", sid,
             s.ToString());
  }
}

}  // namespace strata::meta

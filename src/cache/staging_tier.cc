// StagingTier: opening a staging directory (lock, version, leftovers), staging blocks
// (back-pressure, batched directory fsync, fallback to the home tier), reads and removal.
// The uploads are in staging_uploader.cc. See staging_tier.h.
#include "cache/staging_tier.h"

#include "cache/staging_format.h"
#include "common/logging.h"
#include "fmt/format.h"

namespace strata::cache {
namespace {

constexpr char kCorruptSuffix[] = ".corrupt";

bool EndsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

Status StagingOptions::Validate() const {
  if (dir.empty()) return Status::InvalidArgument("--writeback-dir must not be empty");
  if (env == nullptr) return Status::InvalidArgument("staging needs an Env");
  if (limit < (1ULL << 20)) return Status::InvalidArgument("--writeback-limit must be >= 1 MiB");
  if (!(free_space_ratio >= 0 && free_space_ratio < 1)) {
    return Status::InvalidArgument("free_space_ratio must be in [0, 1)");
  }
  if (upload_delay.count() < 0) return Status::InvalidArgument("--upload-delay must be >= 0");
  if (uploaders < 1 || uploaders > 1024) return Status::InvalidArgument("uploaders: 1..1024");
  if (foreground_uploaders < 1 || foreground_uploaders > 1024) {
    return Status::InvalidArgument("--uploads-while-writing must be between 1 and 1024");
  }
  if (!(high_water > 0 && high_water <= 1)) {
    return Status::InvalidArgument("high_water must be in (0, 1]");
  }
  if (foreground_window.count() < 0 || max_lag.count() < 0) {
    return Status::InvalidArgument("foreground_window and max_lag must be >= 0");
  }
  if (space_wait.count() < 0) return Status::InvalidArgument("space_wait must be >= 0");
  if (log_max > 0 && (log_max > (64ULL << 20) || log_segment < (64ULL << 10))) {
    return Status::InvalidArgument("log_max must be <= 64 MiB and log_segment >= 64 KiB");
  }
  return Status::OK();
}

Result<std::unique_ptr<StagingTier>> StagingTier::Open(const StagingOptions& options,
                                                       BlockTier* home) {
  RETURN_IF_ERROR(options.Validate());
  if (home == nullptr) return Status::InvalidArgument("staging needs a home tier");
  Env* env = options.env;
  RETURN_IF_ERROR(env->CreateDirs(options.dir));
  auto lock = env->LockFile(JoinPath(options.dir, "LOCK"), LockType::kExclusive, false);
  if (!lock.ok()) {
    if (lock.status().Is(Code::kWouldBlock)) {
      return Status(Code::kWouldBlock,
                    "writeback directory " + options.dir +
                        " is in use by another strata process (a mount or sync-staging); give "
                        "this mount its own --writeback-dir");
    }
    return lock.status().WithContext("lock writeback directory");
  }
  const std::string version_path = JoinPath(options.dir, "VERSION");
  const std::string want = StagingVersionText(options.volume_uuid);
  auto have = env->ReadFile(version_path);
  if (have.ok()) {
    std::string first = have->substr(0, have->find('\n'));
    const std::string rest = have->substr(std::min(have->size(), first.size() + 1));
    const std::string oldest = "strata-staging " + std::to_string(kStagingOldestVersion);
    if (first == oldest && rest == want.substr(want.find('\n') + 1)) {
      // A version-1 directory of this volume: its block files are read as they are; the new
      // VERSION keeps older binaries, which know no log, out of it from now on.
      AtomicWriteOptions wo;
      wo.sync = true;
      RETURN_IF_ERROR(env->WriteFileAtomic(version_path, want, wo));
    } else if (*have != want) {
      if (first != "strata-staging " + std::to_string(kStagingFormatVersion) && first != oldest) {
        return Status::InvalidArgument("writeback directory " + options.dir +
                                       " has an unknown format ('" + first + "')");
      }
      return Status::InvalidArgument("writeback directory " + options.dir +
                                     " holds blocks of another volume (" +
                                     have->substr(first.size() + 1) +
                                     "); give each volume its own --writeback-dir");
    }
  } else if (have.status().Is(Code::kNotFound)) {
    AtomicWriteOptions wo;
    wo.sync = true;
    RETURN_IF_ERROR(env->WriteFileAtomic(version_path, want, wo));
  } else {
    return have.status();
  }
  const std::string blocks = JoinPath(options.dir, "blocks");
  RETURN_IF_ERROR(env->CreateDirs(blocks));
  RETURN_IF_ERROR(env->CreateDirs(JoinPath(options.dir, "log")));
  RETURN_IF_ERROR(env->SyncDir(options.dir));
  ASSIGN_OR_RETURN(auto pool, ThreadPool::Open({.name = "staging uploads",
                                                .threads = options.uploaders,
                                                .queue_capacity = size_t(options.uploaders)}));
  std::unique_ptr<StagingTier> t(
      new StagingTier(options, home, std::move(*lock), std::move(pool)));
  RETURN_IF_ERROR(t->Scan());
  t->dir_syncer_ = std::thread([p = t.get()] { p->DirSyncLoop(); });
  t->dispatcher_ = std::thread([p = t.get()] { p->DispatchLoop(); });
  return t;
}

StagingTier::StagingTier(const StagingOptions& options, BlockTier* home,
                         std::unique_ptr<FileLock> lock, std::unique_ptr<ThreadPool> pool)
    : options_(options),
      home_(home),
      clock_(options.clock ? options.clock : SystemClock::Get()),
      blocks_dir_(JoinPath(options.dir, "blocks")),
      lock_(std::move(lock)),
      log_dir_(JoinPath(options.dir, "log")),
      pool_(std::move(pool)) {}

StagingTier::~StagingTier() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    gen_++;
  }
  cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  pool_->Shutdown();  // the uploads in progress finish
  {
    std::lock_guard lock(mu_);
    dir_stop_ = true;  // after the syncs asked for so far
  }
  dir_cv_.notify_all();
  if (dir_syncer_.joinable()) dir_syncer_.join();
  if (log_file_) {
    Status closed = log_file_->Close();
    (void)closed;  // deliberately dropped: every record acknowledged was fdatasync'ed
  }
  // The segment appended to last, when nothing in it is staged any more.
  std::string idle;
  {
    std::lock_guard lock(mu_);
    idle = DropIdleSegmentLocked();
  }
  RemoveSegmentFile(idle);
  StagingStats s = stats();
  if (s.blocks > 0) {
    LOG_WARN("writeback: {} blocks ({} bytes) left staged in {}: the next mount with this "
             "--writeback-dir (or `strata sync-staging`) uploads them",
             s.blocks, s.bytes, options_.dir);
  }
}

std::string StagingTier::PathOf(const std::string& name) const {
  return JoinPath(blocks_dir_, name);
}

// Indexes what an earlier process left: temporary files were never acknowledged (removed);
// block files are leftovers for the owner to adopt or discard.
Status StagingTier::Scan() {
  Env* env = options_.env;
  ASSIGN_OR_RETURN(auto entries, env->ListDir(blocks_dir_));
  int temps = 0, bad = 0, unfinished = 0;
  for (const DirEntry& d : entries) {
    if (d.type != FileType::kRegular || EndsWith(d.name, kCorruptSuffix)) continue;
    const std::string path = PathOf(d.name);
    if (d.name.find(".tmp.") != std::string::npos) {
      Status st = env->RemoveFile(path);
      if (!st.ok() && !st.Is(Code::kNotFound)) return st;
      temps++;
      continue;
    }
    ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
    ASSIGN_OR_RETURN(uint64_t size, file->Size());
    ASSIGN_OR_RETURN(std::string head, file->Read(0, StagedHeaderSize(1024)));
    StagedBlock b;
    std::string why;
    const StagedFileKind kind = ClassifyStagedFile(head, size, &b, &why);
    if (kind == StagedFileKind::kNoHeader) {
      // Created, then the process or machine died before its header reached the disk: never
      // acknowledged (the commit follows the fsync), and nothing says what it was for.
      Status st = env->RemoveFile(path);
      if (!st.ok() && !st.Is(Code::kNotFound)) return st;
      temps++;
      continue;
    }
    if (kind == StagedFileKind::kDamaged || StagedName(b.key) != d.name) {
      // Kept aside for inspection, never uploaded: a block file that does not parse was
      // damaged on this disk.
      LOG_ERROR("writeback: staged file {} is damaged ({}); moved aside as {}{}", path,
                kind == StagedFileKind::kDamaged ? why : "name does not match its key", d.name,
                kCorruptSuffix);
      RETURN_IF_ERROR(env->Rename(path, path + kCorruptSuffix));
      bad++;
      continue;
    }
    // kUnfinished files are leftovers like the others: their slice was never committed, so
    // the owner discards them (if it was, the upload finds the file short and says so).
    if (kind == StagedFileKind::kUnfinished) unfinished++;
    Entry e;
    const uint64_t overhead = StagedHeaderSize(b.key.size()) + 4;
    e.size = size > overhead ? size - overhead : 0;
    e.origin = b.origin;
    e.state = State::kLeftover;
    stats_.bytes += e.size;
    stats_.blocks++;
    stats_.leftovers++;
    index_.emplace(b.key, e);
  }
  if (temps > 0) RETURN_IF_ERROR(env->SyncDir(blocks_dir_));
  const uint64_t file_blocks = stats_.blocks;
  RETURN_IF_ERROR(ScanLog());
  if (file_blocks > 0 || temps > 0 || bad > 0) {
    LOG_INFO("writeback: {} found {} staged block files ({} of them unfinished writes) "
             "left by an earlier process; removed {} unfinished files (temporary, or cut short "
             "before their header); {} damaged",
             options_.dir, file_blocks, unfinished, temps, bad);
  }
  return Status::OK();
}

bool StagingTier::DiskHasRoom(uint64_t size) {
  if (options_.free_space_ratio <= 0) return true;
  auto space = options_.env->GetSpace(options_.dir);
  if (!space.ok() || space->total_bytes == 0) return true;  // a real ENOSPC falls back anyway
  const double keep = options_.free_space_ratio * static_cast<double>(space->total_bytes);
  return static_cast<double>(space->free_bytes) - static_cast<double>(size) >= keep;
}

bool StagingTier::WaitForRoom(uint64_t size) {
  const int64_t until = clock_->MonotonicNanos() +
                        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.space_wait)
                            .count();
  bool counted = false;
  for (;;) {
    const bool disk_ok = DiskHasRoom(size);  // statvfs outside the lock
    std::unique_lock lock(mu_);
    // The log's dead bytes are on disk too (staging_tier.h "Space"); one block always fits
    // into an empty directory.
    const uint64_t dead = log_bytes_ - std::min(log_bytes_, log_live_bytes_);
    const bool fits = disk_ok && ((stats_.bytes == 0 && dead == 0) ||
                                  stats_.bytes + dead + size <= options_.limit);
    if (!fits && !stop_) {
      // The segment appended to may hold nothing staged but its records' bytes: dropped,
      // and looked at again at once.
      const std::string idle = DropIdleSegmentLocked();
      if (!idle.empty()) {
        lock.unlock();
        RemoveSegmentFile(idle);
        continue;
      }
    }
    if (fits) stats_.bytes += size;  // reserved now, so concurrent writers cannot overshoot
    // Nothing staged here would free the disk: someone else filled it. Go direct at once.
    if (fits || stop_ || (!disk_ok && stats_.blocks == 0)) {
      if (counted) room_waiters_--;
      return fits;
    }
    if (!counted) {
      stats_.waits++;
      counted = true;
      room_waiters_++;  // uploads at full speed while a writer waits (UploadSlots)
      gen_++;
      cv_.notify_all();
    }
    const int64_t left = until - clock_->MonotonicNanos();
    if (left <= 0) {
      room_waiters_--;
      return false;
    }
    const uint64_t freed = stats_.uploaded_total + stats_.removed_total;
    // Woken by an upload or a removal; the disk's free space is looked at again at least
    // once a second (other writers on the same file system change it without telling us).
    clock_->WaitFor(lock, cv_, std::min<std::chrono::nanoseconds>(
                                   std::chrono::nanoseconds(left), std::chrono::seconds(1)),
                    [&] { return stop_ || stats_.uploaded_total + stats_.removed_total != freed; });
  }
}

uint64_t StagingTier::RequestDirSync() {
  std::lock_guard lock(mu_);
  const uint64_t ticket = ++dir_requested_;
  dir_cv_.notify_all();
  return ticket;
}

Status StagingTier::WaitDirSync(uint64_t ticket) {
  std::unique_lock lock(mu_);
  dir_cv_.wait(lock, [&] { return dir_synced_ >= ticket || dir_failed_ >= ticket; });
  if (dir_synced_ >= ticket) return Status::OK();
  return dir_error_;
}

void StagingTier::DirSyncLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    dir_cv_.wait(lock, [&] { return dir_stop_ || dir_requested_ > dir_done_; });
    if (dir_requested_ == dir_done_) return;  // stopping, nothing asked for
    // One fsync covers every file created before it started: all tickets handed out so far.
    const uint64_t upto = dir_requested_;
    lock.unlock();
    Status st = options_.env->SyncDir(blocks_dir_);
    lock.lock();
    dir_done_ = upto;
    if (st.ok()) {
      dir_synced_ = upto;
    } else {
      dir_failed_ = upto;  // these callers fail; later ones get a new fsync
      dir_error_ = st.WithContext("fsync " + blocks_dir_);
    }
    dir_cv_.notify_all();
  }
}

Status StagingTier::StageFile(const std::string& key, const std::string& name,
                              std::string_view plain, const BlockOrigin& origin) {
  const std::string header = StagedHeader(key, origin, plain.size());
  const std::string trailer = StagedTrailer(header, plain);
  const std::string path = PathOf(name);
  // In place, not through a temporary file and a rename: the directory fsync that makes the
  // new name durable can then run while the data is written and fsync'ed (one device flush
  // for both on a journalling file system, instead of two in a row). Until both returned the
  // block is not acknowledged, and an unfinished file is recognised at start-up
  // (ClassifyStagedFile) as a leftover whose slice was never committed.
  auto file = options_.env->NewWritableFile(path, OpenMode::kCreateNew);
  if (!file.ok()) return file.status().WithContext("stage " + key);
  const uint64_t ticket = RequestDirSync();
  Status st = (*file)->Append(header);
  if (st.ok()) st = (*file)->Append(plain);
  if (st.ok()) st = (*file)->Append(trailer);
  if (st.ok()) st = (*file)->Sync();
  Status closed = (*file)->Close();
  if (st.ok()) st = closed;
  Status dir = WaitDirSync(ticket);  // waited for even after a failure: it uses the name
  if (st.ok()) st = dir;
  if (!st.ok()) {
    Status rm = options_.env->RemoveFile(path);
    (void)rm;  // deliberately dropped: the block goes direct; a leftover is discarded later
    return st.WithContext("stage " + key);
  }
  return Status::OK();
}

BlockData StagingTier::KeepForUpload(std::string_view plain) {
  {
    std::lock_guard lock(mu_);
    if (stats_.memory_bytes + plain.size() > options_.memory) return nullptr;
    stats_.memory_bytes += plain.size();  // reserved before encoding: concurrent writers
  }                                       // cannot overshoot the budget
  auto body = BlockBuffer::Share(BlockBuffer::Adopt(home_->EncodeBody(plain)));
  std::lock_guard lock(mu_);
  stats_.memory_bytes = stats_.memory_bytes - plain.size() + body->size();
  return body;
}

Status StagingTier::Write(const std::string& key, std::string_view plain, bool sync,
                          const BlockOrigin& origin) {
  (void)sync;  // a staged block is always fsync'ed
  const std::string name = StagedName(key);
  {
    std::lock_guard lock(mu_);
    if (index_.count(key)) return Status::OK();  // blocks are immutable: staged already
  }
  // A writer is staging: uploads yield to it (UploadSlots) until it has been idle a while.
  {
    std::lock_guard lock(mu_);
    writing_++;
  }
  Status st = StageOrGoDirect(key, name, plain, origin);
  {
    std::lock_guard lock(mu_);
    writing_--;
    last_write_ns_ = clock_->MonotonicNanos();
    gen_++;  // the dispatcher's look-again time moves
  }
  cv_.notify_all();
  return st;
}

Status StagingTier::StageOrGoDirect(const std::string& key, const std::string& name,
                                    std::string_view plain, const BlockOrigin& origin) {
  Status why;
  bool first = false;
  BlockData body;  // encoded once, when the memory budget has room: the upload's (or below)
  if (name.empty()) {
    why = Status::InvalidArgument("not a block key");
  } else if (!WaitForRoom(plain.size())) {
    why = Status(Code::kNoSpace, fmt::format("no room in {} within {} s (limit {} bytes)", options_.dir,
                                      options_.space_wait.count() / 1000, options_.limit));
  } else {
    body = KeepForUpload(plain);
    uint64_t seg = 0, off = 0;
    uint32_t rec_len = 0;
    const bool logged = options_.log_max > 0 && plain.size() <= options_.log_max;
    why = logged ? StageLog(key, plain, origin, &seg, &off, &rec_len)
                 : StageFile(key, name, plain, origin);
    std::lock_guard lock(mu_);
    if (why.ok()) {
      Entry e;
      e.size = plain.size();
      e.origin = origin;
      e.body = body;
      e.seg = seg;
      e.off = off;
      e.rec_len = rec_len;
      e.due_ns = clock_->MonotonicNanos() +
                 std::chrono::duration_cast<std::chrono::nanoseconds>(options_.upload_delay)
                     .count();
      index_.emplace(key, e);
      queue_.push_back(key);
      first = stats_.blocks == 0;
      stats_.blocks++;
      stats_.staged_total++;
      gen_++;
    } else {
      stats_.bytes -= plain.size();  // the reservation of WaitForRoom
      gen_++;
    }
  }
  if (why.ok()) {
    cv_.notify_all();
    if (first && options_.on_nonempty) options_.on_nonempty();
    return Status::OK();
  }
  cv_.notify_all();
  {
    std::lock_guard lock(mu_);
    stats_.fallbacks++;
  }
  LOG_WARN_EVERY("writeback: block {} not staged ({}); uploading it directly", key,
                 why.ToString());
  // Durable in the store before the caller commits: nothing is acknowledged that is not
  // durable somewhere.
  if (!body) return home_->Write(key, plain, true, origin);
  Status st = home_->WriteBody(key, *body, true, origin);
  std::lock_guard lock(mu_);
  stats_.memory_bytes -= body->size();  // the reservation of KeepForUpload
  return st;
}

Result<BlockData> StagingTier::Get(const std::string& key, uint32_t expected_len) {
  (void)expected_len;  // the chain checks the length
  Entry e;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return Status::NotFound("not staged: " + key);
    e.seg = it->second.seg;
    e.off = it->second.off;
    e.rec_len = it->second.rec_len;
  }
  auto raw = ReadStaged(key, e);
  if (!raw.ok()) {
    if (raw.status().Is(Code::kNotFound)) return Status::NotFound("uploaded meanwhile: " + key);
    return raw.status().WithContext("read staged block " + key);
  }
  StagedBlock b;
  Status decoded = DecodeStagedBlockInPlace(&*raw, &b);
  if (!decoded.ok() || b.key != key) {
    Status bad = decoded.ok() ? Status::Corruption("staged file holds " + b.key) : decoded;
    LOG_ERROR("writeback: staged block {} is damaged: {}", key, bad.ToString());
    return bad.WithContext("staged block " + key);
  }
  return BlockBuffer::Share(std::move(*raw));
}

Status StagingTier::Put(const std::string& key, BlockData data) {
  (void)key, (void)data;
  return Status::OK();  // not a cache: declines fills (WantsFill is false anyway)
}

bool StagingTier::Contains(const std::string& key) {
  std::lock_guard lock(mu_);
  return index_.count(key) > 0;
}

std::string StagingTier::Forget(const std::string& key, const Entry& e) {
  (void)key;
  stats_.bytes -= e.size;
  if (e.body) stats_.memory_bytes -= e.body->size();
  stats_.blocks--;
  if (e.state == State::kLeftover) stats_.leftovers--;
  gen_++;
  return e.seg != 0 ? ReleaseRecordLocked(e.seg, e.rec_len) : "";
}

Status StagingTier::Remove(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = index_.find(key);
  // An upload in progress finishes first: the chain deletes the store's copy after us.
  while (it != index_.end() && it->second.state == State::kUploading) {
    it->second.removed = true;
    cv_.wait(lock);
    it = index_.find(key);
  }
  if (it == index_.end()) return Status::OK();
  Entry e = it->second;
  index_.erase(it);
  const std::string gone = Forget(key, e);
  stats_.removed_total++;
  lock.unlock();
  cv_.notify_all();
  if (e.seg != 0) {  // a record: its segment goes with the last of them
    RemoveSegmentFile(gone);
    return Status::OK();
  }
  Status st = options_.env->RemoveFile(PathOf(StagedName(key)));
  if (!st.ok() && !st.Is(Code::kNotFound)) return st.WithContext("remove staged block " + key);
  return Status::OK();
}

Status StagingTier::Sync(const std::vector<std::string>& keys) {
  (void)keys;  // staged: fsync'ed when written; uploaded: written to home with sync
  return Status::OK();
}

std::vector<LeftoverBlock> StagingTier::Leftovers() const {
  std::vector<LeftoverBlock> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, e] : index_) {
    if (e.state == State::kLeftover) out.push_back({key, e.origin, e.size});
  }
  return out;
}

void StagingTier::Adopt(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end() || it->second.state != State::kLeftover) return;
    it->second.state = State::kQueued;
    it->second.due_ns = 0;  // old already: no upload delay
    stats_.leftovers--;
    queue_.push_back(key);
    gen_++;
  }
  cv_.notify_all();
}

Status StagingTier::Discard(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end() || it->second.state != State::kLeftover) return Status::OK();
  }
  return Remove(key);
}

std::vector<std::string> StagingTier::Keys() const {
  std::vector<std::string> out;
  std::lock_guard lock(mu_);
  out.reserve(index_.size());
  for (const auto& [key, e] : index_) out.push_back(key);
  return out;
}

StagingStats StagingTier::stats() const {
  uint64_t queued = 0;
  {
    std::lock_guard lock(log_mu_);
    queued = log_queue_.size();
  }
  std::lock_guard lock(mu_);
  StagingStats s = stats_;
  s.log_queued = queued;
  s.log_bytes = log_bytes_;
  return s;
}

}  // namespace strata::cache

// StagingTier: the staging log — small blocks appended as records to a log segment by a group
// commit (one fdatasync for every writer queued behind the leader), the segments' lifetime
// (rotated by size, deleted when no record in them is staged), their scan at open, and reads
// of staged blocks from a file or a record. See staging_tier.h and docs/format/staging.md.
#include "cache/staging_format.h"
#include "cache/staging_tier.h"
#include "common/logging.h"

namespace strata::cache {

std::string StagingTier::SegmentPath(uint64_t seg) const {
  return JoinPath(log_dir_, LogSegmentName(seg));
}

Status StagingTier::StageLog(const std::string& key, std::string_view plain,
                             const BlockOrigin& origin, uint64_t* seg, uint64_t* off,
                             uint32_t* len) {
  LogAppend me;
  me.record = EncodeStagedBlock(key, origin, plain);
  std::unique_lock lock(log_mu_);
  log_queue_.push_back(&me);
  while (!me.done) {
    if (log_busy_) {
      log_cv_.wait(lock);
      continue;
    }
    // The log is idle: lead a group of every record queued so far (this one included).
    log_busy_ = true;
    std::vector<LogAppend*> group;
    group.swap(log_queue_);
    lock.unlock();
    AppendGroup(group);
    lock.lock();
    for (LogAppend* a : group) a->done = true;
    log_busy_ = false;
    log_cv_.notify_all();
  }
  if (!me.st.ok()) return me.st.WithContext("stage " + key + " in the log");
  *seg = me.seg;
  *off = me.off;
  *len = static_cast<uint32_t>(me.record.size());
  return Status::OK();
}

void StagingTier::AppendGroup(const std::vector<LogAppend*>& group) {
  size_t next = 0;
  while (next < group.size()) {
    const uint64_t n = group.size() - next;
    // The records are counted live in their segment before a byte is written, so that the
    // segment cannot be deleted under the appends (staging_tier.h: LogSegment).
    bool reserved = false;
    {
      std::lock_guard lock(mu_);
      if (active_seg_ != 0 && active_seg_ == log_file_seg_ && log_file_ &&
          log_file_->Size() < options_.log_segment) {
        segments_[active_seg_].live += n;
        reserved = true;
      }
    }
    if (!reserved) {
      Status st = OpenSegment(n);
      if (!st.ok()) {
        for (size_t i = next; i < group.size(); i++) group[i]->st = st;
        return;
      }
    }
    const uint64_t seg = log_file_seg_;
    const uint64_t size_before = log_file_->Size();
    size_t end = next;
    Status append;
    for (; end < group.size(); end++) {
      group[end]->off = log_file_->Size();
      append = log_file_->Append(group[end]->record);
      if (!append.ok()) break;
    }
    Status sync = end > next ? log_file_->Sync() : Status::OK();
    if (!sync.ok()) sync = sync.WithContext("fdatasync " + SegmentPath(seg));
    for (size_t i = next; i < end; i++) {
      group[i]->st = sync;
      group[i]->seg = seg;
    }
    if (end < group.size()) group[end]->st = append;  // that writer alone; it goes direct
    // Reserved but not staged: the failed append and the ones after it (tried again in a new
    // segment), or, after a failed fdatasync, every record of the group.
    const uint64_t unused = sync.ok() ? group.size() - end : n;
    std::string gone;
    {
      std::lock_guard lock(mu_);
      // Every byte appended is on disk now (a failed append's part too); the durable
      // records among them are staged bytes, the rest dead bytes until the segment goes.
      if (auto it = segments_.find(seg); it != segments_.end()) {
        const uint64_t grown = log_file_->Size() - size_before;
        it->second.bytes += grown;
        log_bytes_ += grown;
        if (sync.ok()) {
          for (size_t i = next; i < end; i++) {
            it->second.live_bytes += group[i]->record.size();
            log_live_bytes_ += group[i]->record.size();
          }
        }
      }
      if (sync.ok() && end > next) {
        stats_.log_records += end - next;
        stats_.log_groups++;
      }
      if (!sync.ok() || !append.ok()) {
        // Nothing more is appended after a failed write or fdatasync: what the file holds
        // past the last durable record is unknown.
        segments_[seg].retired = true;
        if (active_seg_ == seg) active_seg_ = 0;
      }
      for (uint64_t i = 0; i < unused && gone.empty(); i++) gone = ReleaseRecordLocked(seg, 0);
    }
    RemoveSegmentFile(gone);
    if (!sync.ok()) {
      for (size_t i = end; i < group.size(); i++) {
        if (group[i]->st.ok()) group[i]->st = sync;
      }
      return;
    }
    next = end + 1;
  }
}

Status StagingTier::OpenSegment(uint64_t records) {
  uint64_t seq = 0;
  std::string gone;
  {
    std::lock_guard lock(mu_);
    seq = ++last_seg_;
    if (active_seg_ != 0) {
      auto it = segments_.find(active_seg_);
      if (it != segments_.end()) {
        it->second.retired = true;
        if (it->second.live == 0) gone = EraseSegmentLocked(it);
      }
      active_seg_ = 0;
    }
  }
  RemoveSegmentFile(gone);
  if (log_file_) {
    Status closed = log_file_->Close();
    (void)closed;  // deliberately dropped: everything acknowledged in it was fdatasync'ed
    log_file_.reset();
    log_file_seg_ = 0;
  }
  const std::string path = SegmentPath(seq);
  auto file = options_.env->NewWritableFile(path, OpenMode::kCreateNew);
  if (!file.ok()) return file.status().WithContext("create log segment " + path);
  // The header reaches the disk with the first records' fdatasync; the name needs the
  // directory's fsync, once per segment.
  Status st = (*file)->Append(LogSegmentHeader(seq));
  if (st.ok()) st = options_.env->SyncDir(log_dir_).WithContext("fsync " + log_dir_);
  if (!st.ok()) {
    Status closed = (*file)->Close();
    Status rm = options_.env->RemoveFile(path);
    (void)closed, (void)rm;  // deliberately dropped: a leftover segment without records is
    return st;               // removed at the next open
  }
  {
    std::lock_guard lock(mu_);
    segments_[seq] = LogSegment{records, kLogSegmentHeaderSize, 0, false};
    log_bytes_ += kLogSegmentHeaderSize;
    active_seg_ = seq;
    stats_.log_segments = segments_.size();
  }
  log_file_ = std::move(*file);
  log_file_seg_ = seq;
  return Status::OK();
}

std::string StagingTier::ReleaseRecordLocked(uint64_t seg, uint64_t rec_len) {
  auto it = segments_.find(seg);
  if (it == segments_.end() || it->second.live == 0) return "";
  rec_len = std::min(rec_len, it->second.live_bytes);
  it->second.live_bytes -= rec_len;
  log_live_bytes_ -= rec_len;
  if (--it->second.live > 0) return "";
  // No record of it is staged. The segment being appended to stays (deleted when it is
  // rotated, at exit, or when a writer needs its room: DropIdleSegmentLocked): a writer
  // alone, whose every block is uploaded before its next close, would otherwise pay a create
  // and a directory fsync per block again.
  if (active_seg_ == seg) return "";
  return EraseSegmentLocked(it);
}

std::string StagingTier::EraseSegmentLocked(std::map<uint64_t, LogSegment>::iterator it) {
  const std::string path = SegmentPath(it->first);
  log_bytes_ -= std::min(log_bytes_, it->second.bytes);
  log_live_bytes_ -= std::min(log_live_bytes_, it->second.live_bytes);
  if (active_seg_ == it->first) active_seg_ = 0;
  segments_.erase(it);
  stats_.log_segments = segments_.size();
  return path;
}

std::string StagingTier::DropIdleSegmentLocked() {
  auto it = segments_.find(active_seg_);
  if (active_seg_ == 0 || it == segments_.end() || it->second.live > 0) return "";
  // No append is in progress on it (an append's records are counted live before its first
  // byte is written), and the next group finds active_seg_ 0 and opens a new segment.
  return EraseSegmentLocked(it);
}

void StagingTier::RemoveSegmentFile(const std::string& path) {
  if (path.empty()) return;
  Status st = options_.env->RemoveFile(path);
  if (!st.ok() && !st.Is(Code::kNotFound)) {
    // Found again at the next open: its records are sorted out like any leftover.
    LOG_WARN_EVERY("writeback: removing log segment {} failed: {}", path, st.ToString());
  }
}

Status StagingTier::ScanLog() {
  Env* env = options_.env;
  ASSIGN_OR_RETURN(auto entries, env->ListDir(log_dir_));
  uint64_t records = 0, torn = 0, empty = 0;
  for (const DirEntry& d : entries) {
    const uint64_t seq = LogSegmentSeq(d.name);
    if (d.type != FileType::kRegular || seq == 0) continue;
    const std::string path = SegmentPath(seq);
    ASSIGN_OR_RETURN(std::string file, env->ReadFile(path));
    std::string tail;
    auto found = ParseLogSegment(file, &tail);
    if (!found.ok()) {
      if (file.size() < kLogSegmentHeaderSize) {
        // Created, then the process died before its first fdatasync: never acknowledged.
        RETURN_IF_ERROR(env->RemoveFile(path));
        empty++;
        continue;
      }
      LOG_ERROR("writeback: log segment {} is damaged ({}); moved aside as {}.corrupt", path,
                found.status().ToString(), d.name);
      RETURN_IF_ERROR(env->Rename(path, path + ".corrupt"));
      continue;
    }
    last_seg_ = std::max(last_seg_, seq);
    if (!tail.empty()) torn++;  // an append that never finished: never acknowledged
    uint64_t live = 0, live_bytes = 0;
    for (LogRecord& r : *found) {
      if (index_.count(r.key)) continue;  // a block staged twice: one copy is enough
      Entry e;
      e.size = r.data_len;
      e.origin = r.origin;
      e.state = State::kLeftover;
      e.seg = seq;
      e.off = r.offset;
      e.rec_len = r.length;
      stats_.bytes += e.size;
      stats_.blocks++;
      stats_.leftovers++;
      index_.emplace(std::move(r.key), e);
      live++;
      live_bytes += r.length;
    }
    records += live;
    if (live == 0) {
      RETURN_IF_ERROR(env->RemoveFile(path));
      empty++;
      continue;
    }
    segments_[seq] = LogSegment{live, file.size(), live_bytes, true};  // never appended to again
    log_bytes_ += file.size();
    log_live_bytes_ += live_bytes;
  }
  stats_.log_segments = segments_.size();
  if (records > 0 || torn > 0 || empty > 0) {
    LOG_INFO("writeback: {} found {} staged blocks in {} log segments left by an earlier "
             "process ({} ending in an unfinished append); removed {} segments without records",
             log_dir_, records, segments_.size(), torn, empty);
  }
  return Status::OK();
}

Result<BlockBuffer> StagingTier::ReadStaged(const std::string& key, const Entry& e) const {
  if (e.seg == 0) return options_.env->ReadFileToBuffer(PathOf(StagedName(key)));
  ASSIGN_OR_RETURN(auto file, options_.env->NewRandomAccessFile(SegmentPath(e.seg)));
  ASSIGN_OR_RETURN(BlockBuffer raw, file->ReadToBuffer(e.off, e.rec_len));
  if (raw.size() != e.rec_len) {
    return Status::Corruption("log segment " + SegmentPath(e.seg) + " ends inside the record of " + key);
  }
  return raw;
}

}  // namespace strata::cache

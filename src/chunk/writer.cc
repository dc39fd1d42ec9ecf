// DataWriter implementation. Locking: one mutex (State::mu_) guards every file's slice
// bookkeeping and the buffer budget; it is never held across an object-store call, a
// metadata transaction or a wait on another lock. Block bytes of a full block (or of a frozen
// slice) never change, so upload tasks read them without the lock.
#include "chunk/writer.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "chunk/block_key.h"
#include "chunk/compactor.h"
#include "common/thread_pool.h"
#include "fmt/format.h"

namespace strata::chunk {

using meta::Ino;
using meta::kChunkSize;

Status WriterOptions::Validate() const {
  if (buffer_size < (1ULL << 20)) return Status::InvalidArgument("buffer size must be >= 1 MiB");
  if (max_uploads < 1 || max_uploads > 1024) {
    return Status::InvalidArgument("max uploads must be in 1..1024");
  }
  if (freeze_after_ms < 1 || idle_ms < 1) {
    return Status::InvalidArgument("slice freeze timers must be positive");
  }
  if (max_unsynced_blocks < 1) return Status::InvalidArgument("max_unsynced_blocks must be >= 1");
  if (compact_every < 1 || compact_sync_slices < 2) {
    return Status::InvalidArgument("compaction thresholds must be positive");
  }
  return Status::OK();
}

namespace {

struct SliceBuf {
  Ino ino = 0;
  uint32_t chunk = 0;
  uint32_t pos = 0;        // position in the chunk
  uint32_t len = 0;        // bytes buffered
  uint64_t seq = 0;        // global write order (overlay)
  int64_t created_ns = 0;  // monotonic
  std::vector<std::unique_ptr<std::string>> blocks;  // plain bytes; the last may be partial
  uint32_t submitted = 0;  // blocks handed to the upload pool
  uint32_t finished = 0;   // blocks whose upload finished (ok or not)
  std::vector<bool> synced;  // per block: stored with PutOptions::sync
  bool frozen = false;
  bool done = false;       // committed or failed, and out of the queue (Flush waits on it)
  bool sync = false;       // fsync asked for durable puts (guarded by the writer lock)
  Status error;            // first upload error
  // Set once, by the first upload task, outside the writer lock (id_mu).
  std::mutex id_mu;
  uint64_t id = 0;

  bool UploadsDone() const { return frozen && finished == blocks.size(); }
};

struct FileState {
  std::map<uint32_t, std::shared_ptr<SliceBuf>> open;                // chunk -> open slice
  std::map<uint32_t, std::deque<std::shared_ptr<SliceBuf>>> queues;  // chunk -> uncommitted
  std::set<uint32_t> committing;  // chunks whose head slice is being committed
  std::map<uint32_t, uint64_t> commits;  // chunk -> commits so far (compaction trigger)
  Status error;                   // first failure since the last Flush
  int64_t last_write_ns = 0;
  // Keys of committed blocks stored without PutOptions::sync since the last Fsync, kept only
  // when the store needs it (BlockStoreOptions::puts_need_sync): Fsync makes them durable.
  std::vector<std::string> unsynced;
  int syncing = 0;                // SyncFile runs in progress (fsync or background drain)
  bool Empty() const { return queues.empty(); }
};

}  // namespace

class DataWriter::State {
 public:
  State(meta::Meta* meta, BlockStore* blocks, Compactor* compactor, const WriterOptions& o,
        Clock* clock, std::unique_ptr<ThreadPool> pool)
      : meta_(meta), blocks_(blocks), compactor_(compactor), opts_(o), clock_(clock),
        block_size_(blocks->block_size()), pool_(std::move(pool)) {
    timer_ = std::thread([this] { TimerLoop(); });
  }

  ~State() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    timer_.join();
  }

  Status Write(Ino ino, uint64_t offset, std::string_view data);
  Status Flush(Ino ino, bool sync);
  Status FlushAll();
  uint64_t PendingEnd(Ino ino) const;
  bool HasPending(Ino ino) const;
  std::vector<OverlayPiece> CaptureOverlay(Ino ino, uint64_t offset, uint64_t len) const;
  void SetListener(std::function<void(Ino, uint32_t)> l) {
    std::lock_guard lock(mu_);
    listener_ = std::move(l);
  }
  uint64_t buffered() const {
    std::lock_guard lock(mu_);
    return buffered_;
  }

 private:
  using Task = std::pair<std::shared_ptr<SliceBuf>, uint32_t>;  // (slice, block index)
  // Work found under the lock, done after releasing it: uploads to submit and chunks whose
  // head slice may now be committable.
  struct SyncJob {
    Ino ino;
    std::shared_ptr<FileState> file;
    std::vector<std::string> keys;
  };
  struct Work {
    std::vector<Task> tasks;
    std::vector<std::pair<Ino, uint32_t>> drive;
    std::vector<SyncJob> syncs;  // background drains of unsynced keys
    bool empty() const { return tasks.empty() && drive.empty() && syncs.empty(); }
  };

  std::shared_ptr<FileState> FileLocked(Ino ino) {
    auto& f = files_[ino];
    if (!f) f = std::make_shared<FileState>();
    return f;
  }
  // Marks the slice frozen and queues its unsubmitted blocks. REQUIRES: mu_ held.
  // `s` is taken by value: callers pass the FileState::open entry this erases.
  void FreezeLocked(FileState& f, std::shared_ptr<SliceBuf> s, Work* work);
  void FreezeFileLocked(FileState& f, Work* work);
  // Submits the uploads, then drives the chunks. REQUIRES: mu_ not held.
  void Run(Work work);
  // Runs `task` on the upload pool; blocks while its queue is full (back-pressure). Only a
  // pool that is shutting down refuses, and then the task runs in the calling thread.
  void Submit(std::function<void()> task) {
    if (!pool_->Submit(task).ok()) task();
  }
  void Upload(const std::shared_ptr<SliceBuf>& s, uint32_t index);
  // Takes the file's unsynced keys (SyncJob), or returns false when there are none.
  // REQUIRES: mu_ held.
  bool TakeUnsyncedLocked(Ino ino, const std::shared_ptr<FileState>& f, SyncJob* job);
  // Makes the job's blocks durable; on failure gives the keys back to the file.
  Status RunSync(SyncJob job);
  // Drops the file's state when nothing about it is left to remember. REQUIRES: mu_ held.
  void MaybeForgetLocked(Ino ino, const std::shared_ptr<FileState>& f);
  // Commits finished head slices of (ino, chunk) in order.
  void Drive(Ino ino, uint32_t chunk);
  // sync: the slice's `sync` flag, read under the lock. Returns whether the slice's blocks
  // were all stored durably (through the re-put below) in *durable.
  Status CommitSlice(SliceBuf& s, bool sync, bool* durable);
  void MaybeCompact(Ino ino, uint32_t chunk, uint64_t commits);
  void TimerLoop();
  // Frees memory under pressure: freezes every open slice. REQUIRES: mu_ held.
  void RelieveLocked(Work* work);

  meta::Meta* const meta_;
  BlockStore* const blocks_;
  Compactor* const compactor_;
  const WriterOptions opts_;
  Clock* const clock_;
  const uint32_t block_size_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // slice done, memory freed, stop
  std::map<Ino, std::shared_ptr<FileState>> files_;  // guarded by mu_
  uint64_t buffered_ = 0;                            // guarded by mu_
  uint64_t frozen_bytes_ = 0;  // buffered bytes in frozen slices (will be freed); mu_
  uint64_t next_seq_ = 1;                            // guarded by mu_
  uint64_t unsynced_total_ = 0;  // keys in all FileState::unsynced; guarded by mu_
  bool stop_ = false;                                // guarded by mu_
  std::function<void(Ino, uint32_t)> listener_;      // guarded by mu_

  // Declared last but one: destroyed (draining its queue) before the state it touches.
  std::unique_ptr<ThreadPool> pool_;
  std::thread timer_;
};

void DataWriter::State::FreezeLocked(FileState& f, std::shared_ptr<SliceBuf> s, Work* work) {
  if (s->frozen) return;
  s->frozen = true;
  frozen_bytes_ += s->len;
  auto it = f.open.find(s->chunk);
  if (it != f.open.end() && it->second == s) f.open.erase(it);
  for (uint32_t i = s->submitted; i < s->blocks.size(); i++) work->tasks.push_back({s, i});
  s->submitted = static_cast<uint32_t>(s->blocks.size());
  // Its blocks may all be stored already (uploaded while open): then nobody else would
  // start the commit.
  work->drive.push_back({s->ino, s->chunk});
}

void DataWriter::State::FreezeFileLocked(FileState& f, Work* work) {
  std::vector<std::shared_ptr<SliceBuf>> open;
  for (auto& [chunk, s] : f.open) open.push_back(s);
  for (auto& s : open) FreezeLocked(f, s, work);
}

void DataWriter::State::RelieveLocked(Work* work) {
  for (auto& [ino, f] : files_) FreezeFileLocked(*f, work);
}

void DataWriter::State::Run(Work work) {
  for (auto& [s, index] : work.tasks) {
    Submit([this, s = s, index = index] { Upload(s, index); });
  }
  for (auto& job : work.syncs) {
    auto shared = std::make_shared<SyncJob>(std::move(job));
    // Deliberately dropped result: a failed background sync gives the keys back, and the
    // file's next Fsync retries them and reports the error.
    Submit([this, shared] { (void)RunSync(std::move(*shared)); });
  }
  std::sort(work.drive.begin(), work.drive.end());
  work.drive.erase(std::unique(work.drive.begin(), work.drive.end()), work.drive.end());
  for (auto& [ino, chunk] : work.drive) Drive(ino, chunk);
}

Status DataWriter::State::Write(Ino ino, uint64_t offset, std::string_view data) {
  constexpr uint64_t kMaxFileSize = 1ULL << 50;  // 1 PiB; chunk indexes stay 32-bit
  if (offset > kMaxFileSize || data.size() > kMaxFileSize - offset) {
    return Status{Code::kFileTooLarge, "write beyond the maximum file size"};
  }
  while (!data.empty()) {
    uint64_t chunk64 = offset / kChunkSize;
    uint32_t chunk = static_cast<uint32_t>(chunk64);
    uint32_t in_chunk = static_cast<uint32_t>(offset % kChunkSize);
    Work work;
    size_t n;
    {
      std::unique_lock lock(mu_);
      // Back-pressure: wait for memory, freezing open slices when nothing else would free it.
      uint64_t want = std::min<uint64_t>(data.size(), block_size_);
      while (buffered_ > 0 && buffered_ + want > opts_.buffer_size) {
        if (frozen_bytes_ == 0) {
          Work relief;
          RelieveLocked(&relief);
          if (!relief.empty()) {
            lock.unlock();
            Run(std::move(relief));
            lock.lock();
            continue;
          }
        }
        cv_.wait(lock);
      }
      auto f = FileLocked(ino);
      if (!f->error.ok()) return f->error;
      f->last_write_ns = clock_->MonotonicNanos();
      std::shared_ptr<SliceBuf> s;
      if (auto it = f->open.find(chunk); it != f->open.end()) {
        if (it->second->pos + it->second->len == in_chunk) {
          s = it->second;
        } else {
          FreezeLocked(*f, it->second, &work);
        }
      }
      if (!s) {
        s = std::make_shared<SliceBuf>();
        s->ino = ino;
        s->chunk = chunk;
        s->pos = in_chunk;
        s->seq = next_seq_++;
        s->created_ns = clock_->MonotonicNanos();
        f->open[chunk] = s;
        f->queues[chunk].push_back(s);
      }
      // Append up to the end of the current block / chunk.
      uint32_t slice_off = s->len;
      uint32_t in_block = slice_off % block_size_;
      if (in_block == 0) {
        s->blocks.push_back(std::make_unique<std::string>());
        s->blocks.back()->reserve(std::min<uint64_t>(block_size_, data.size()));
        s->synced.push_back(false);
      }
      n = std::min<size_t>({data.size(), static_cast<size_t>(block_size_ - in_block),
                            static_cast<size_t>(kChunkSize - in_chunk)});
      s->blocks.back()->append(data.data(), n);
      s->len += static_cast<uint32_t>(n);
      buffered_ += n;
      if (s->blocks.back()->size() == block_size_) {
        work.tasks.push_back({s, static_cast<uint32_t>(s->blocks.size() - 1)});
        s->submitted = static_cast<uint32_t>(s->blocks.size());
      }
      if (s->pos + s->len == kChunkSize) FreezeLocked(*f, s, &work);
    }
    Run(std::move(work));
    data.remove_prefix(n);
    offset += n;
  }
  return Status::OK();
}

void DataWriter::State::Upload(const std::shared_ptr<SliceBuf>& s, uint32_t index) {
  Status st;
  {
    std::lock_guard id_lock(s->id_mu);
    if (s->id == 0) {
      auto id = meta_->NewSliceId();
      if (id.ok()) {
        s->id = *id;
      } else {
        st = id.status().WithContext("allocate slice id");
      }
    }
  }
  const std::string* block;
  bool sync;
  {
    std::lock_guard lock(mu_);
    block = s->blocks[index].get();
    sync = s->sync;
    if (!s->error.ok()) st = s->error;  // a sibling block failed: do not upload more
  }
  if (st.ok()) st = blocks_->PutBlock(s->id, index, *block, sync);
  {
    std::lock_guard lock(mu_);
    s->finished++;
    if (st.ok()) {
      s->synced[index] = sync;
    } else if (s->error.ok()) {
      s->error = st;
    }
  }
  Drive(s->ino, s->chunk);
}

Status DataWriter::State::CommitSlice(SliceBuf& s, bool sync, bool* durable) {
  if (!s.error.ok()) return s.error;
  *durable = false;
  if (sync && blocks_->options().puts_need_sync) {
    // fsync arrived after some blocks were stored without sync: flush those in place.
    std::vector<std::string> keys;
    for (uint32_t i = 0; i < s.blocks.size(); i++) {
      if (s.synced[i]) continue;
      keys.push_back(BlockKey(blocks_->options().key_prefix, s.id, i,
                              static_cast<uint32_t>(s.blocks[i]->size())));
    }
    RETURN_IF_ERROR(blocks_->SyncBlocks(keys));
    *durable = true;
  }
  int64_t now = clock_->NowNanos();
  meta::Timespec mtime{now / 1000000000, static_cast<uint32_t>(now % 1000000000)};
  meta::Slice rec{s.pos, s.id, s.len, 0, s.len};
  return meta_->WriteSlice(s.ino, s.chunk, rec, mtime);
}

void DataWriter::State::Drive(Ino ino, uint32_t chunk) {
  for (;;) {
    std::shared_ptr<FileState> f;
    std::shared_ptr<SliceBuf> head;
    std::function<void(Ino, uint32_t)> listener;
    bool sync = false;
    {
      std::lock_guard lock(mu_);
      auto fit = files_.find(ino);
      if (fit == files_.end()) return;
      f = fit->second;
      auto qit = f->queues.find(chunk);
      if (qit == f->queues.end() || qit->second.empty() || f->committing.count(chunk)) return;
      head = qit->second.front();
      if (!head->UploadsDone()) return;
      f->committing.insert(chunk);
      listener = listener_;
      sync = head->sync;
    }
    // Every block is stored (or failed): commit, or clean up.
    bool durable = false;
    Status st = CommitSlice(*head, sync, &durable);
    // The reader's cached segments must be dropped BEFORE the slice leaves the pending queue:
    // in between, a read would find the bytes neither in the overlay nor in its (stale)
    // segments and return zeros (seen under TSan in ReadYourWritesBeforeFlush).
    if (st.ok() && listener) listener(ino, chunk);
    if (!st.ok() && head->id != 0) {
      // Upload-before-commit: blocks of a slice that will never be committed are garbage.
      // A failed delete leaves objects that `strata gc` finds (nothing references them).
      (void)blocks_->DeleteSlice(head->id, head->len);
    }
    uint64_t commits = 0;
    {
      std::lock_guard lock(mu_);
      auto& q = f->queues[chunk];
      q.pop_front();
      if (q.empty()) f->queues.erase(chunk);
      f->committing.erase(chunk);
      buffered_ -= head->len;
      frozen_bytes_ -= head->len;
      if (st.ok()) {
        commits = ++f->commits[chunk];
        if (blocks_->options().puts_need_sync && !durable) {
          // Fsync (DESIGN.md §6) must make these durable later, even though the slice was
          // committed by a timer long before it.
          for (uint32_t i = 0; i < head->blocks.size(); i++) {
            if (head->synced[i]) continue;
            f->unsynced.push_back(BlockKey(blocks_->options().key_prefix, head->id, i,
                                           static_cast<uint32_t>(head->blocks[i]->size())));
            unsynced_total_++;
          }
        }
      } else if (f->error.ok()) {
        f->error = st;
      }
      head->done = true;
      head->blocks.clear();  // memory is released now, the slice may live on in a task
    }
    cv_.notify_all();
    if (st.ok()) MaybeCompact(ino, chunk, commits);
  }
}

void DataWriter::State::MaybeCompact(Ino ino, uint32_t chunk, uint64_t commits) {
  if (!compactor_ || commits % opts_.compact_every != 0) return;
  auto slices = meta_->ReadChunk(ino, chunk);
  if (!slices.ok()) return;  // deliberately dropped: compaction is an optimisation
  if (slices->size() >= static_cast<size_t>(opts_.compact_sync_slices)) {
    (void)compactor_->CompactChunk(ino, chunk);  // synchronous: the list must not grow forever
  } else if (slices->size() > 1) {
    compactor_->Schedule(ino, chunk);
  }
}

bool DataWriter::State::TakeUnsyncedLocked(Ino ino, const std::shared_ptr<FileState>& f,
                                           SyncJob* job) {
  if (f->unsynced.empty()) return false;
  job->ino = ino;
  job->file = f;
  job->keys.swap(f->unsynced);
  unsynced_total_ -= job->keys.size();
  f->syncing++;
  return true;
}

Status DataWriter::State::RunSync(SyncJob job) {
  Status st = blocks_->SyncBlocks(job.keys);
  {
    std::lock_guard lock(mu_);
    FileState& f = *job.file;
    f.syncing--;
    if (!st.ok()) {  // give the keys back: the next Fsync retries them
      unsynced_total_ += job.keys.size();
      f.unsynced.insert(f.unsynced.end(), job.keys.begin(), job.keys.end());
    }
    MaybeForgetLocked(job.ino, job.file);
  }
  cv_.notify_all();
  return st;
}

void DataWriter::State::MaybeForgetLocked(Ino ino, const std::shared_ptr<FileState>& f) {
  auto it = files_.find(ino);
  if (it != files_.end() && it->second == f && f->Empty() && f->open.empty() &&
      f->unsynced.empty() && f->syncing == 0 && f->error.ok()) {
    files_.erase(it);
  }
}

Status DataWriter::State::Flush(Ino ino, bool sync) {
  Work work;
  std::shared_ptr<FileState> f;
  // The slices that exist now: Flush waits for these only, not for slices that other
  // threads open on the file while it waits (those would otherwise keep it waiting until
  // the idle timer).
  std::vector<std::shared_ptr<SliceBuf>> waiting;
  {
    std::lock_guard lock(mu_);
    auto it = files_.find(ino);
    if (it != files_.end()) {
      f = it->second;
      FreezeFileLocked(*f, &work);
      for (auto& [chunk, q] : f->queues) {
        for (auto& s : q) {
          if (sync) s->sync = true;
          waiting.push_back(s);
        }
        work.drive.push_back({ino, chunk});
      }
    }
  }
  Status st;
  if (f) {
    Run(std::move(work));
    SyncJob job;
    bool have_job = false;
    {
      std::unique_lock lock(mu_);
      // With sync, also wait for background syncs of this file's keys: they must be durable
      // (or given back, to be retried here) before fsync returns.
      cv_.wait(lock, [&] {
        return std::all_of(waiting.begin(), waiting.end(), [](auto& s) { return s->done; }) &&
               (!sync || f->syncing == 0);
      });
      st = f->error;
      f->error = Status::OK();
      if (sync && st.ok()) have_job = TakeUnsyncedLocked(ino, f, &job);
      MaybeForgetLocked(ino, f);
    }
    if (have_job) {
      st = RunSync(std::move(job));
      if (!st.ok()) st = st.WithContext("fsync");
    }
  }
  if (sync && st.ok()) {
    st = meta_->engine().Sync();
    if (!st.ok()) st = st.WithContext("sync metadata");
  }
  return st;
}

Status DataWriter::State::FlushAll() {
  std::vector<Ino> inos;
  {
    std::lock_guard lock(mu_);
    for (auto& [ino, f] : files_) inos.push_back(ino);
  }
  Status first;
  for (Ino ino : inos) {
    Status st = Flush(ino, false);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

uint64_t DataWriter::State::PendingEnd(Ino ino) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(ino);
  if (it == files_.end()) return 0;
  uint64_t end = 0;
  for (auto& [chunk, q] : it->second->queues) {
    for (auto& s : q) end = std::max(end, chunk * kChunkSize + s->pos + s->len);
  }
  return end;
}

bool DataWriter::State::HasPending(Ino ino) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(ino);
  return it != files_.end() && !it->second->queues.empty();
}

std::vector<OverlayPiece> DataWriter::State::CaptureOverlay(Ino ino, uint64_t offset,
                                                            uint64_t len) const {
  std::vector<std::pair<uint64_t, OverlayPiece>> pieces;  // (seq, piece)
  std::lock_guard lock(mu_);
  auto it = files_.find(ino);
  if (it == files_.end()) return {};
  uint64_t end = offset + len;
  for (auto& [chunk, q] : it->second->queues) {
    for (auto& s : q) {
      uint64_t start = chunk * kChunkSize + s->pos;
      uint64_t lo = std::max(start, offset), hi = std::min(start + s->len, end);
      if (lo >= hi || s->blocks.empty()) continue;
      OverlayPiece p;
      p.offset = lo;
      p.data.reserve(hi - lo);
      for (uint64_t x = lo; x < hi;) {
        uint64_t rel = x - start;
        const std::string& b = *s->blocks[rel / block_size_];
        uint64_t in = rel % block_size_;
        uint64_t take = std::min<uint64_t>(hi - x, b.size() - in);
        p.data.append(b, in, take);
        x += take;
      }
      pieces.push_back({s->seq, std::move(p)});
    }
  }
  std::sort(pieces.begin(), pieces.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<OverlayPiece> out;
  out.reserve(pieces.size());
  for (auto& [seq, p] : pieces) out.push_back(std::move(p));
  return out;
}

void DataWriter::State::TimerLoop() {
  const int64_t freeze_ns = int64_t{opts_.freeze_after_ms} * 1000000;
  const int64_t idle_ns = int64_t{opts_.idle_ms} * 1000000;
  const auto tick = std::chrono::milliseconds(std::clamp(opts_.idle_ms / 4, 10, 250));
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, tick);
    if (stop_) break;
    int64_t now = clock_->MonotonicNanos();
    Work work;
    for (auto& [ino, f] : files_) {
      bool idle = now - f->last_write_ns >= idle_ns;
      std::vector<std::shared_ptr<SliceBuf>> due;
      for (auto& [chunk, s] : f->open) {
        if (idle || now - s->created_ns >= freeze_ns) due.push_back(s);
      }
      for (auto& s : due) FreezeLocked(*f, s, &work);
    }
    if (unsynced_total_ > opts_.max_unsynced_blocks) {
      // Bound the memory of remembered keys: make them durable now, in the background, as
      // a local file system's writeback would; Fsync then has nothing left to do for them.
      for (auto& [ino, f] : files_) {
        SyncJob job;
        if (TakeUnsyncedLocked(ino, f, &job)) work.syncs.push_back(std::move(job));
      }
    }
    if (work.empty()) continue;
    lock.unlock();
    Run(std::move(work));
    lock.lock();
  }
}

// ---- DataWriter: forwards to State.

Result<std::unique_ptr<DataWriter>> DataWriter::Open(meta::Meta* meta, BlockStore* blocks,
                                                     Compactor* compactor,
                                                     const WriterOptions& options, Clock* clock) {
  RETURN_IF_ERROR(options.Validate());
  // Queue bound: full blocks waiting for an upload thread. Memory is already bounded by
  // buffer_size; the bound only keeps the queue from growing past what that allows.
  ASSIGN_OR_RETURN(auto pool, ThreadPool::Open({.name = "uploads",
                                                .threads = options.max_uploads,
                                                .queue_capacity = 4096}));
  return std::unique_ptr<DataWriter>(new DataWriter(
      std::make_unique<State>(meta, blocks, compactor, options, clock, std::move(pool))));
}

DataWriter::DataWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}

DataWriter::~DataWriter() {
  // Deliberately dropped: callers that need the result call FlushAll() before destroying.
  (void)state_->FlushAll();
}

Status DataWriter::Write(Ino ino, uint64_t offset, std::string_view data) {
  return state_->Write(ino, offset, data);
}
Status DataWriter::Flush(Ino ino) { return state_->Flush(ino, false); }
Status DataWriter::Fsync(Ino ino) { return state_->Flush(ino, true); }
Status DataWriter::FlushAll() { return state_->FlushAll(); }
uint64_t DataWriter::PendingEnd(Ino ino) const { return state_->PendingEnd(ino); }
bool DataWriter::HasPending(Ino ino) const { return state_->HasPending(ino); }
std::vector<OverlayPiece> DataWriter::CaptureOverlay(Ino ino, uint64_t offset,
                                                     uint64_t len) const {
  return state_->CaptureOverlay(ino, offset, len);
}
void DataWriter::SetCommitListener(std::function<void(Ino, uint32_t)> listener) {
  state_->SetListener(std::move(listener));
}
uint64_t DataWriter::buffered_bytes() const { return state_->buffered(); }

}  // namespace strata::chunk

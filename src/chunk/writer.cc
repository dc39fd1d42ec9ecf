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
#include "chunk/worker_pool.h"
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
  bool sync = false;       // fsync asked for durable puts
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
  bool sync_mode = false;         // fsync was called: later uploads are durable too
  bool Empty() const { return queues.empty(); }
};

}  // namespace

class DataWriter::State {
 public:
  State(meta::Meta* meta, BlockStore* blocks, Compactor* compactor, const WriterOptions& o,
        Clock* clock)
      : meta_(meta), blocks_(blocks), compactor_(compactor), opts_(o), clock_(clock),
        block_size_(blocks->block_size()), pool_(o.max_uploads) {
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
  struct Work {
    std::vector<Task> tasks;
    std::vector<std::pair<Ino, uint32_t>> drive;
    bool empty() const { return tasks.empty() && drive.empty(); }
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
  void Upload(const std::shared_ptr<SliceBuf>& s, uint32_t index);
  // Commits finished head slices of (ino, chunk) in order.
  void Drive(Ino ino, uint32_t chunk);
  Status CommitSlice(SliceBuf& s);
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
  bool stop_ = false;                                // guarded by mu_
  std::function<void(Ino, uint32_t)> listener_;      // guarded by mu_

  WorkerPool pool_;  // declared last but one: destroyed before the state it touches
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
    pool_.Submit([this, s = s, index = index] { Upload(s, index); });
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
        s->sync = f->sync_mode;
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

Status DataWriter::State::CommitSlice(SliceBuf& s) {
  if (!s.error.ok()) return s.error;
  if (s.sync) {  // fsync arrived after some blocks were stored without sync: store them again
    for (uint32_t i = 0; i < s.blocks.size(); i++) {
      if (!s.synced[i]) RETURN_IF_ERROR(blocks_->PutBlock(s.id, i, *s.blocks[i], true));
    }
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
    }
    // Every block is stored (or failed): commit, or clean up.
    Status st = CommitSlice(*head);
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
      } else if (f->error.ok()) {
        f->error = st;
      }
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

Status DataWriter::State::Flush(Ino ino, bool sync) {
  Work work;
  std::shared_ptr<FileState> f;
  {
    std::lock_guard lock(mu_);
    auto it = files_.find(ino);
    if (it == files_.end()) return Status::OK();
    f = it->second;
    if (sync) {
      f->sync_mode = true;
      for (auto& [chunk, q] : f->queues) {
        for (auto& s : q) s->sync = true;
      }
    }
    FreezeFileLocked(*f, &work);
    for (auto& [chunk, q] : f->queues) work.drive.push_back({ino, chunk});
  }
  Run(std::move(work));
  Status st;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return f->Empty(); });
    st = f->error;
    f->error = Status::OK();
    auto it = files_.find(ino);
    if (it != files_.end() && it->second == f && f->Empty() && f->open.empty() && !f->sync_mode) {
      files_.erase(it);
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
  return std::unique_ptr<DataWriter>(new DataWriter(
      std::make_unique<State>(meta, blocks, compactor, options, clock)));
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

#include "chunk/compactor.h"

#include <atomic>
#include <deque>
#include <set>

#include "chunk/block_key.h"
#include "common/thread_pool.h"
#include "meta/slices.h"
#include "common/logging.h"

namespace strata::chunk {

using meta::Ino;

class Compactor::State {
 public:
  State(meta::SliceLog* meta, BlockStore* blocks, std::unique_ptr<ThreadPool> pool)
      : meta_(meta), blocks_(blocks), pool_(std::move(pool)) {}

  Status CompactChunk(Ino ino, uint32_t chunk);

  void Schedule(Ino ino, uint32_t chunk) {
    {
      std::lock_guard lock(mu_);
      if (!queued_.insert({ino, chunk}).second) return;  // already queued
      pending_++;
    }
    // Never blocks: Schedule is called from upload and read paths. A full queue (or a
    // pool shutting down) drops the job; the chunk is scheduled again when next found
    // fragmented.
    Status st = pool_->TrySubmit([this, ino, chunk] {
      {
        std::lock_guard lock(mu_);
        queued_.erase({ino, chunk});
      }
      Status st = CompactChunk(ino, chunk);  // counted in CompactChunk
      if (!st.ok() && !st.Is(Code::kConflict)) {  // a conflict: a writer got there first
        LOG_WARN_EVERY("compaction of inode {} chunk {} failed: {}", ino, chunk, st.ToString());
      }
      Done();
    });
    if (!st.ok()) {
      {
        std::lock_guard lock(mu_);
        queued_.erase({ino, chunk});
      }
      failures++;
      Done();
    }
  }

  void Done() {
    std::lock_guard lock(mu_);
    if (--pending_ == 0) idle_cv_.notify_all();
  }

  void WaitIdle() {
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [&] { return pending_ == 0; });
  }

  std::atomic<uint64_t> compactions{0};
  std::atomic<uint64_t> failures{0};

 private:
  Status Rewrite(Ino ino, uint32_t chunk, const std::vector<meta::Slice>& slices);

  meta::SliceLog* const meta_;
  BlockStore* const blocks_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::set<std::pair<Ino, uint32_t>> queued_;  // guarded by mu_
  int pending_ = 0;                            // guarded by mu_
  std::unique_ptr<ThreadPool> pool_;  // last: drains its queue before the rest is destroyed
};

Status Compactor::State::CompactChunk(Ino ino, uint32_t chunk) {
  ASSIGN_OR_RETURN(auto slices, meta_->ReadChunk(ino, chunk));
  if (slices.size() < 2) return Status::OK();
  Status st = Rewrite(ino, chunk, slices);
  if (st.ok()) {
    compactions++;
  } else {
    failures++;
  }
  return st;
}

Status Compactor::State::Rewrite(Ino ino, uint32_t chunk, const std::vector<meta::Slice>& slices) {
  std::vector<meta::Segment> segs = meta::ResolveSlices(slices);
  // Trim leading and trailing holes: they need no storage.
  size_t first = 0, last = segs.size();
  while (first < last && segs[first].id == 0) first++;
  while (last > first && segs[last - 1].id == 0) last--;
  if (first == last) return Status::OK();  // nothing but holes
  const uint32_t pos = segs[first].pos;
  const uint32_t end = segs[last - 1].pos + segs[last - 1].len;
  const uint32_t bs = blocks_->block_size();
  std::string view(end - pos, '\0');
  for (size_t i = first; i < last; i++) {
    const meta::Segment& s = segs[i];
    if (s.id == 0) continue;
    uint64_t so = s.off, se = uint64_t{s.off} + s.len;
    size_t dest = s.pos - pos;
    while (so < se) {
      uint32_t index = static_cast<uint32_t>(so / bs);
      uint32_t in = static_cast<uint32_t>(so % bs);
      uint32_t blen = BlockLen(s.size, bs, index);
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(se - so, blen - in));
      ASSIGN_OR_RETURN(auto bytes, blocks_->ReadBlock(s.id, index, blen, in, n, false));
      view.replace(dest, n, bytes);
      dest += n;
      so += n;
    }
  }
  ASSIGN_OR_RETURN(uint64_t id, meta_->NewSliceId());
  meta::Slice replacement{pos, id, end - pos, 0, end - pos};
  Status st;
  for (uint32_t i = 0; st.ok() && i < NumBlocks(view.size(), bs); i++) {
    st = blocks_->PutBlock(
        id, i, std::string_view(view).substr(uint64_t{i} * bs, BlockLen(view.size(), bs, i)),
        blocks_->options().puts_need_sync,  // see the header: replaces possibly fsync'ed data
        {ino, chunk});
  }
  if (st.ok()) st = meta_->CompactChunk(ino, chunk, slices, replacement);
  if (!st.ok()) {
    // Nothing references the new slice: its blocks are garbage (a failed delete is left to gc).
    Status del = blocks_->DeleteSlice(id, replacement.size);
    if (!del.ok()) {
      LOG_WARN_EVERY("deleting blocks of unused compacted slice {} failed (gc will find them): {}",
                     id, del.ToString());
    }
  }
  return st;
}

Result<std::unique_ptr<Compactor>> Compactor::Open(meta::SliceLog* meta, BlockStore* blocks) {
  ASSIGN_OR_RETURN(auto pool,
                   ThreadPool::Open({.name = "compaction", .threads = 1, .queue_capacity = 1024}));
  return std::unique_ptr<Compactor>(
      new Compactor(std::make_unique<State>(meta, blocks, std::move(pool))));
}
Compactor::Compactor(std::unique_ptr<State> state) : state_(std::move(state)) {}
Compactor::~Compactor() = default;

Status Compactor::CompactChunk(Ino ino, uint32_t chunk_index) {
  return state_->CompactChunk(ino, chunk_index);
}

Status Compactor::CompactFile(Ino ino, uint64_t length) {
  uint64_t chunks = (length + meta::kChunkSize - 1) / meta::kChunkSize;
  for (uint64_t c = 0; c < chunks; c++) {
    RETURN_IF_ERROR(state_->CompactChunk(ino, static_cast<uint32_t>(c)));
  }
  return Status::OK();
}

void Compactor::Schedule(Ino ino, uint32_t chunk_index) { state_->Schedule(ino, chunk_index); }
void Compactor::WaitIdle() { state_->WaitIdle(); }
uint64_t Compactor::compactions() const { return state_->compactions; }
uint64_t Compactor::failures() const { return state_->failures; }

}  // namespace strata::chunk

// DataReader implementation. The segment cache and its generation are guarded by one mutex;
// block fetches run without it, on the caller's thread and the download pool.
#include "chunk/reader.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>

#include "chunk/block_key.h"
#include "chunk/compactor.h"
#include "common/backoff.h"
#include "common/logging.h"
#include "common/thread_pool.h"
#include "meta/slices.h"

namespace strata::chunk {

using meta::Ino;
using meta::kChunkSize;
using meta::Segment;

Status ReaderOptions::Validate() const {
  if (max_downloads < 1 || max_downloads > 1024) {
    return Status::InvalidArgument("max downloads must be in 1..1024");
  }
  if (segment_cache_chunks < 1) return Status::InvalidArgument("segment cache must hold >= 1");
  if (compact_segments < 2) return Status::InvalidArgument("compact_segments must be >= 2");
  if (missing_block_wait_ms < 0) return Status::InvalidArgument("--staged-wait must be >= 0");
  return Status::OK();
}

namespace {

// One piece of a read: bytes [off, off+len) of a block go to out[dest, dest+len).
struct Fetch {
  uint64_t id;
  uint32_t index;
  uint32_t block_len;
  uint32_t off;
  uint32_t len;
  size_t dest;
};

// Counts down to zero; Wait blocks until then.
class Latch {
 public:
  explicit Latch(int n) : n_(n) {}
  void Done() {
    std::lock_guard lock(mu_);
    if (--n_ == 0) cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return n_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_;
};

}  // namespace

class DataReader::State {
 public:
  State(meta::SliceLog* meta, BlockStore* blocks, Compactor* compactor, const ReaderOptions& o,
        std::unique_ptr<ThreadPool> pool)
      : meta_(meta), blocks_(blocks), compactor_(compactor), opts_(o),
        block_size_(blocks->block_size()), pool_(std::move(pool)) {}

  uint64_t prefetches() const { return prefetches_.load(); }

  Status Read(Ino ino, uint64_t offset, size_t size, uint64_t length, ReadState* state,
              ReadBuffer* out);
  void Invalidate(Ino ino, uint32_t chunk) {
    std::lock_guard lock(mu_);
    generation_++;
    segments_.erase({ino, chunk});
  }
  void InvalidateFile(Ino ino) {
    std::lock_guard lock(mu_);
    generation_++;
    auto it = segments_.lower_bound({ino, 0});
    while (it != segments_.end() && it->first.first == ino) it = segments_.erase(it);
  }

 private:
  Result<std::shared_ptr<const std::vector<Segment>>> Segments(Ino ino, uint32_t chunk);
  // Appends the block pieces covering file bytes [lo, hi) of one chunk to `out`.
  Status Plan(Ino ino, uint64_t lo, uint64_t hi, uint64_t base, std::vector<Fetch>* out);
  // Queues background fetches of the blocks holding file bytes [from, to) (bounded by
  // readahead_total bytes in flight); returns the file offset up to which they were queued.
  // promote: read blocks the disk cache holds into memory too (BlockStore::ReadAhead).
  uint64_t Readahead(Ino ino, uint64_t from, uint64_t to, bool promote);
  // Background fetch of a whole block into the cache (promote: as above); false (nothing
  // queued) when the pool's queue is full (readahead is an optimisation; a later read
  // fetches the block itself).
  bool Prefetch(const Fetch& f, bool promote = false);
  // After a miss in every tier: retries the read for opts_.missing_block_wait_ms (the block
  // may be staged on the writer's disk and appear when uploaded), then kIOError, logged.
  Result<BlockStore::Part> WaitForBlock(const Fetch& f, bool whole, Status missing);
  // Sequential detection and readahead for a read of [offset, end); true when sequential.
  bool Track(Ino ino, uint64_t offset, uint64_t end, uint64_t length, ReadState* state);
  // x rounded up to a multiple of the block size.
  uint64_t RoundUp(uint64_t x) const { return (x + block_size_ - 1) / block_size_ * block_size_; }

  meta::SliceLog* const meta_;
  BlockStore* const blocks_;
  Compactor* const compactor_;
  const ReaderOptions opts_;
  const uint32_t block_size_;
  std::atomic<uint64_t> prefetch_bytes_{0};  // readahead bytes in flight
  std::atomic<uint64_t> prefetches_{0};      // prefetch tasks queued (stats, tests)

  std::mutex mu_;
  uint64_t generation_ = 0;  // bumped by every invalidation; guarded by mu_
  std::map<std::pair<Ino, uint32_t>, std::shared_ptr<const std::vector<Segment>>>
      segments_;  // guarded by mu_

  // Last: destroyed first, its threads finish the queued tasks before the rest goes.
  std::unique_ptr<ThreadPool> pool_;
};

Result<std::shared_ptr<const std::vector<Segment>>> DataReader::State::Segments(Ino ino,
                                                                               uint32_t chunk) {
  uint64_t gen;
  {
    std::lock_guard lock(mu_);
    auto it = segments_.find({ino, chunk});
    if (it != segments_.end()) return it->second;
    gen = generation_;
  }
  ASSIGN_OR_RETURN(auto slices, meta_->ReadChunk(ino, chunk));
  auto segs = std::make_shared<const std::vector<Segment>>(meta::ResolveSlices(slices));
  int data_segments = 0;
  for (auto& s : *segs) data_segments += s.id != 0;
  if (compactor_ && data_segments >= opts_.compact_segments) compactor_->Schedule(ino, chunk);
  std::lock_guard lock(mu_);
  // Only cache what no invalidation may have overtaken (a commit between ReadChunk and now).
  if (gen == generation_) {
    if (segments_.size() >= opts_.segment_cache_chunks) segments_.clear();
    segments_[{ino, chunk}] = segs;
  }
  return segs;
}

Status DataReader::State::Plan(Ino ino, uint64_t lo, uint64_t hi, uint64_t base,
                               std::vector<Fetch>* out) {
  uint32_t chunk = static_cast<uint32_t>(lo / kChunkSize);
  uint64_t chunk_start = uint64_t{chunk} * kChunkSize;
  ASSIGN_OR_RETURN(auto segs, Segments(ino, chunk));
  for (const Segment& seg : *segs) {
    uint64_t s_lo = chunk_start + seg.pos, s_hi = s_lo + seg.len;
    uint64_t a = std::max(lo, s_lo), b = std::min(hi, s_hi);
    if (a >= b || seg.id == 0) continue;  // not in range, or a hole (already zeros)
    // Offsets inside the stored slice.
    uint64_t so = seg.off + (a - s_lo), se = so + (b - a);
    while (so < se) {
      uint32_t index = static_cast<uint32_t>(so / block_size_);
      uint32_t in = static_cast<uint32_t>(so % block_size_);
      uint32_t blen = BlockLen(seg.size, block_size_, index);
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(se - so, blen - in));
      out->push_back(Fetch{seg.id, index, blen, in, n,
                           static_cast<size_t>(chunk_start + seg.pos + (so - seg.off) - base)});
      so += n;
    }
  }
  return Status::OK();
}

// How far a read may land from where the previous one ended and still count as sequential,
// once a sequential run has opened a window (at most the window itself).
// The kernel sends a sequential reader's requests (128 KiB .. 1 MiB each, up to its 1 MiB
// readahead) concurrently, and they reach us slightly out of order; an exact-offset test
// would take each reordering for a seek and throw the window away (measured: most of a
// cold 512 MiB `dd` through FUSE then ran with one or two GETs in flight).
constexpr uint64_t kReorderSlack = 2ULL << 20;

bool DataReader::State::Track(Ino ino, uint64_t offset, uint64_t end, uint64_t length,
                              ReadState* state) {
  std::lock_guard lock(state->mu);
  // Sequential: where the last read ended (a first read at 0 counts) or, once a window is
  // open, near it (reordered requests of the kernel's readahead).
  uint64_t slack = std::min(kReorderSlack, state->window);
  bool sequential = offset + slack >= state->next_offset && offset <= state->next_offset + slack;
  if (sequential) {
    state->window = state->window == 0
                        ? block_size_
                        : std::min<uint64_t>(state->window * 2, opts_.readahead_max);
    state->next_offset = std::max(state->next_offset, end);
  } else {
    state->window = 0;
    state->prefetched_to = 0;
    state->promoted_to = 0;
    state->run_start = offset;
    state->next_offset = end;
  }
  // Readahead before this read's own fetches, so the blocks ahead are on their way while
  // it waits. The window's end is rounded up to a block: the next reads then start past
  // what was issued instead of asking for the same block again and again. Queueing never
  // blocks (TrySubmit), so holding the state's lock here costs the other reads little.
  // Once the run is long enough, the near part (local_readahead_max) is read into memory
  // wherever it is cached; the far part, from where the near part ends, fetches only what no
  // cache holds (header).
  if (state->window > 0 && blocks_->caches()) {
    uint64_t near = state->next_offset;  // no near part yet
    if (opts_.local_readahead_max > 0 &&
        state->next_offset - state->run_start >= opts_.local_readahead_after) {
      near = std::min(
          RoundUp(state->next_offset + std::min(state->window, opts_.local_readahead_max)),
          length);
      uint64_t from = std::max(state->next_offset, state->promoted_to);
      if (from < near) {
        state->promoted_to = std::max(from, Readahead(ino, from, near, /*promote=*/true));
      }
    }
    uint64_t from = std::max({state->next_offset, state->prefetched_to, near});
    uint64_t to = std::min(RoundUp(state->next_offset + state->window), length);
    if (from < to) state->prefetched_to = std::max(from, Readahead(ino, from, to, false));
  }
  return sequential;
}

Status DataReader::State::Read(Ino ino, uint64_t offset, size_t size, uint64_t length,
                               ReadState* state, ReadBuffer* out) {
  *out = ReadBuffer();
  if (offset >= length || size == 0) return Status::OK();
  uint64_t end = std::min<uint64_t>(offset + size, length);
  std::vector<Fetch> fetches;
  for (uint64_t lo = offset; lo < end;) {
    uint64_t hi = std::min<uint64_t>(end, (lo / kChunkSize + 1) * kChunkSize);
    RETURN_IF_ERROR(Plan(ino, lo, hi, offset, &fetches));
    lo = hi;
  }
  const bool sequential = state != nullptr && Track(ino, offset, end, length, state);
  // A sequential reader reads the rest of the block next: fetch it whole into the cache
  // (one GET, shared with a readahead of the same block) rather than a ranged GET now and
  // the whole block again later.
  const bool whole = sequential && blocks_->caches();
  std::vector<Status> results(fetches.size());
  std::vector<BlockStore::Part> parts(fetches.size());
  auto run = [&](size_t i) {
    const Fetch& f = fetches[i];
    auto got = blocks_->ReadBlockPart(f.id, f.index, f.block_len, f.off, f.len, whole);
    if (!got.ok() && got.status().Is(Code::kNotFound)) got = WaitForBlock(f, whole, got.status());
    if (!got.ok()) {
      results[i] = got.status();
      return;
    }
    parts[i] = std::move(*got);  // each task writes only its own element
  };
  if (!fetches.empty()) {
    Latch latch(static_cast<int>(fetches.size()) - 1);
    for (size_t i = 1; i < fetches.size(); i++) {
      std::function<void()> task = [&, i] {
        run(i);
        latch.Done();
      };
      // Blocking submit: the bounded queue is the back-pressure. It fails only when the pool
      // is shutting down; then the fetch runs here.
      if (!pool_->Submit(task).ok()) task();
    }
    run(0);
    latch.Wait();
  }
  for (auto& st : results) RETURN_IF_ERROR(st);
  // The pieces in file order, zeros between them (holes, bytes past a chunk's written end).
  std::vector<size_t> order(fetches.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return fetches[a].dest < fetches[b].dest; });
  size_t at = 0;
  for (size_t i : order) {
    const Fetch& f = fetches[i];
    if (f.dest > at) out->AppendZeros(f.dest - at);
    out->AppendBlock(std::move(parts[i].data), parts[i].off, f.len);
    at = f.dest + f.len;
  }
  if (end - offset > at) out->AppendZeros(end - offset - at);
  // A partial read of a block prefetches the whole block into the cache (DESIGN.md §7); a
  // sequential read already fetched it whole.
  if (blocks_->caches() && !whole) {
    for (const Fetch& f : fetches) {
      if (f.len != f.block_len) Prefetch(f);
    }
  }
  return Status::OK();
}

uint64_t DataReader::State::Readahead(Ino ino, uint64_t from, uint64_t to, bool promote) {
  std::vector<Fetch> fetches;
  for (uint64_t lo = from; lo < to;) {
    uint64_t hi = std::min<uint64_t>(to, (lo / kChunkSize + 1) * kChunkSize);
    // A planning error is left to the foreground read, which will report it.
    if (!Plan(ino, lo, hi, from, &fetches).ok()) return from;
    lo = hi;
  }
  // Plan lists the pieces chunk by chunk, each chunk's in file order; holes are skipped.
  for (const Fetch& f : fetches) {
    // Over the memory bound, or the queue is full: stop here, and report how far the issued
    // prefetches reach, so a later read issues the rest instead of skipping it for good.
    if (prefetch_bytes_.load() + f.block_len > opts_.readahead_total || !Prefetch(f, promote)) {
      return from + f.dest;
    }
  }
  return to;
}

Result<BlockStore::Part> DataReader::State::WaitForBlock(const Fetch& f, bool whole,
                                                         Status missing) {
  Backoff b({.initial = std::chrono::milliseconds(50), .max = std::chrono::seconds(1)},
            SystemClock::Get(),
            Deadline::After(*SystemClock::Get(),
                            std::chrono::milliseconds(opts_.missing_block_wait_ms)));
  while (b.Wait()) {
    auto got = blocks_->ReadBlockPart(f.id, f.index, f.block_len, f.off, f.len, whole);
    if (got.ok() || !got.status().Is(Code::kNotFound)) return got;
    missing = got.status();
  }
  LOG_WARN_EVERY("block {} of slice {} is in no tier after {} ms (still staged on the mount "
                 "that wrote it, or lost): {}",
                 f.index, f.id, opts_.missing_block_wait_ms, missing.ToString());
  return Status::IOError(std::string(missing.message()));
}

bool DataReader::State::Prefetch(const Fetch& f, bool promote) {
  prefetch_bytes_ += f.block_len;
  Status st = pool_->TrySubmit([this, f, promote] {
    // Dropped: see header.
    (void)(promote ? blocks_->ReadAhead(f.id, f.index, f.block_len)
                   : blocks_->Prefetch(f.id, f.index, f.block_len));
    prefetch_bytes_ -= f.block_len;
  });
  if (!st.ok()) {
    prefetch_bytes_ -= f.block_len;  // queue full or shutting down: skipped, see above
    return false;
  }
  prefetches_++;
  return true;
}

// ---- DataReader: forwards to State.

Result<std::unique_ptr<DataReader>> DataReader::Open(meta::SliceLog* meta, BlockStore* blocks,
                                                     Compactor* compactor,
                                                     const ReaderOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  ASSIGN_OR_RETURN(auto pool, ThreadPool::Open({.name = "downloads",
                                                .threads = options.max_downloads,
                                                .queue_capacity = 4096}));
  return std::unique_ptr<DataReader>(new DataReader(
      std::make_unique<State>(meta, blocks, compactor, options, std::move(pool))));
}

DataReader::DataReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
DataReader::~DataReader() = default;

Result<std::string> DataReader::Read(Ino ino, uint64_t offset, size_t size, uint64_t length,
                                     ReadState* state) {
  ReadBuffer buf;
  RETURN_IF_ERROR(state_->Read(ino, offset, size, length, state, &buf));
  return buf.Flatten();
}
Status DataReader::ReadInto(Ino ino, uint64_t offset, size_t size, uint64_t length,
                            ReadState* state, ReadBuffer* out) {
  return state_->Read(ino, offset, size, length, state, out);
}
void DataReader::Invalidate(Ino ino, uint32_t chunk_index) {
  state_->Invalidate(ino, chunk_index);
}
void DataReader::InvalidateFile(Ino ino) { state_->InvalidateFile(ino); }
uint64_t DataReader::prefetches() const { return state_->prefetches(); }

}  // namespace strata::chunk

// DataWriter: the write path (buffering writes into slices, back-pressure) and the public
// forwarding to State. The rest is in writer_commit.cc and writer_flush.cc; the locking rules
// are in writer_state.h.
#include "chunk/writer.h"

#include "chunk/writer_state.h"

namespace strata::chunk {

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

// A write at least this large is taken for a streaming writer (cp, dd, checkpoints: FUSE sends
// them as requests of up to 1 MiB): the block it starts is allocated whole.
constexpr size_t kStreamingWrite = 128 << 10;
// Waiting buffers of the block pool at most (8 x 4 MiB: 32 MiB while writing; none when idle).
constexpr uint64_t kMaxPooledBlocks = 8;

Status DataWriter::State::Write(Ino ino, uint64_t offset, std::string_view data,
                                const ErrorCursor* since) {
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
        if (frozen_bytes_ == 0 && uploading_bytes_ == 0) {
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
      // Fail fast after an upload/commit failure this caller has not been told of yet (the
      // cursor does not move: its next Flush/Fsync still reports it).
      if (Status err = PeekErrorLocked(ino, since); !err.ok()) return err;
      auto f = FileLocked(ino);
      f->last_write_ns = clock_->MonotonicNanos();
      last_any_write_ns_ = f->last_write_ns;
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
        with_open_.insert(ino);
        f->queues[chunk].push_back(s);
      }
      // Append up to the end of the current block / chunk.
      uint32_t slice_off = s->len;
      uint32_t in_block = slice_off % block_size_;
      if (in_block == 0) {
        // A large write that starts a block (a streaming writer) gets the whole block at once,
        // a recycled one when there is one: growing it by doubling would copy ~3/4 of every
        // block again. Small writes reserve what they bring, so many small files do not each
        // hold a block's worth of memory.
        if (data.size() >= kStreamingWrite) {
          s->blocks.push_back(buffers_->Take());
        } else {
          s->blocks.push_back(std::make_shared<BlockBuffer>());
          s->blocks.back()->Reserve(std::min<uint64_t>(block_size_, data.size()));
        }
        s->synced.push_back(false);
      }
      n = std::min<size_t>({data.size(), static_cast<size_t>(block_size_ - in_block),
                            static_cast<size_t>(kChunkSize - in_chunk)});
      s->blocks.back()->Append(data.substr(0, n));
      s->len += static_cast<uint32_t>(n);
      buffered_ += n;
      if (s->blocks.back()->size() == block_size_) {
        work.tasks.push_back({s, static_cast<uint32_t>(s->blocks.size() - 1)});
        s->submitted = static_cast<uint32_t>(s->blocks.size());
        uploading_bytes_ += block_size_;
      }
      if (s->pos + s->len == kChunkSize) FreezeLocked(*f, s, &work);
    }
    Run(std::move(work));
    data.remove_prefix(n);
    offset += n;
  }
  return Status::OK();
}

// ---- DataWriter: forwards to State.

Result<std::unique_ptr<DataWriter>> DataWriter::Open(meta::SliceLog* meta, BlockStore* blocks,
                                                     Compactor* compactor,
                                                     const WriterOptions& options, Clock* clock) {
  RETURN_IF_ERROR(options.Validate());
  // Queue bound: full blocks waiting for an upload thread. Memory is already bounded by
  // buffer_size; the bound only keeps the queue from growing past what that allows.
  ASSIGN_OR_RETURN(auto pool, ThreadPool::Open({.name = "uploads",
                                                .threads = options.max_uploads,
                                                .queue_capacity = 4096}));
  // Enough waiting buffers to bridge the writers and the uploads (a block is taken when one
  // starts and comes back when it is stored), never more than half the budget.
  const uint64_t budget_blocks = options.buffer_size / blocks->block_size();
  ASSIGN_OR_RETURN(auto buffers,
                   BlockPool::Open(blocks->block_size(),
                                   std::clamp<uint64_t>(budget_blocks / 2, 1, kMaxPooledBlocks)));
  return std::unique_ptr<DataWriter>(new DataWriter(std::make_unique<State>(
      meta, blocks, compactor, options, clock, std::move(pool), std::move(buffers))));
}

DataWriter::DataWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}

DataWriter::~DataWriter() {
  // Deliberately dropped: callers that need the result call FlushAll() before destroying.
  (void)state_->FlushAll();
}

Status DataWriter::Write(Ino ino, uint64_t offset, std::string_view data,
                         const ErrorCursor* since) {
  return state_->Write(ino, offset, data, since);
}
Status DataWriter::Flush(Ino ino, ErrorCursor* cursor) { return state_->Flush(ino, false, cursor); }
Status DataWriter::Fsync(Ino ino, ErrorCursor* cursor) { return state_->Flush(ino, true, cursor); }
// Deliberately dropped: without a cursor the flush reports nothing (see State::Flush).
void DataWriter::Drain(Ino ino) { (void)state_->Flush(ino, false, nullptr); }
ErrorCursor DataWriter::OpenErrorCursor(Ino ino) { return state_->OpenCursor(ino); }
void DataWriter::CloseErrorCursor(Ino ino) { state_->CloseCursor(ino); }
Status DataWriter::FlushAll() { return state_->FlushAll(); }
uint64_t DataWriter::PendingEnd(Ino ino) const { return state_->PendingEnd(ino); }
bool DataWriter::HasPending(Ino ino) const { return state_->HasPending(ino); }
Result<std::vector<OverlayPiece>> DataWriter::CaptureOverlay(Ino ino, uint64_t offset,
                                                             uint64_t len) const {
  return state_->CaptureOverlay(ino, offset, len);
}
void DataWriter::SetCommitListener(std::function<void(Ino, uint32_t)> listener) {
  state_->SetListener(std::move(listener));
}
uint64_t DataWriter::buffered_bytes() const { return state_->buffered(); }

}  // namespace strata::chunk

// DataWriter: flush and fsync of a file, the pending view readers overlay on committed data,
// and the timers that freeze idle slices. Locking rules: writer_state.h.
#include "chunk/writer_state.h"

#include <cstring>
#include <optional>

namespace strata::chunk {

void DataWriter::State::MaybeForgetLocked(Ino ino, const std::shared_ptr<FileState>& f) {
  auto it = files_.find(ino);
  if (it != files_.end() && it->second == f && f->Empty() && f->open.empty() &&
      f->unsynced.empty() && f->syncing == 0) {
    files_.erase(it);
  }
}

Status DataWriter::State::Flush(Ino ino, bool sync, ErrorCursor* cursor) {
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
    // The caller waits for these uploads anyway: the last one runs on this thread, so the
    // only block of a small file costs no hand-off to an upload thread and back (issue 16).
    // At most one upload per flushing thread runs outside the pool's bound.
    std::optional<Task> mine;
    if (!work.tasks.empty()) {
      mine = std::move(work.tasks.back());
      work.tasks.pop_back();
    }
    Run(std::move(work));
    if (mine) Upload(mine->first, mine->second);
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
      if (cursor) st = CheckErrorLocked(ino, cursor);
      if (sync && st.ok()) have_job = TakeUnsyncedLocked(ino, f, &job);
      MaybeForgetLocked(ino, f);
    }
    if (have_job) {
      st = RunSync(std::move(job));
      if (!st.ok()) st = st.WithContext("fsync");
    }
  }
  if (!f && cursor) {
    // Nothing pending, but errors recorded before the call count too (a timer's commit
    // failed since this description's last Flush).
    std::lock_guard lock(mu_);
    st = CheckErrorLocked(ino, cursor);
  }
  if (sync && st.ok()) {
    st = meta_->Sync();
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
  for (Ino ino : inos) (void)Flush(ino, false, nullptr);  // reports nothing: see below
  std::lock_guard lock(mu_);
  for (auto& [ino, rec] : errors_) {
    if (rec.stamp > 0 && !rec.seen) return rec.error.WithContext("inode " + std::to_string(ino));
  }
  return Status::OK();
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

Result<std::vector<OverlayPiece>> DataWriter::State::CaptureOverlay(Ino ino, uint64_t offset,
                                                                    uint64_t len) const {
  // A part of a piece held by a block that was stored and released: read back after the
  // lock is released, into bytes [at, at + take) of the piece.
  struct ReadBack {
    size_t piece;
    size_t at;
    uint64_t id;
    uint32_t index, block_len, in, take;
  };
  std::vector<std::pair<uint64_t, OverlayPiece>> pieces;  // (seq, piece)
  std::vector<ReadBack> reads;
  {
    std::lock_guard lock(mu_);
    auto it = files_.find(ino);
    if (it == files_.end()) return std::vector<OverlayPiece>{};
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
          uint32_t index = static_cast<uint32_t>(rel / block_size_);
          uint32_t in = static_cast<uint32_t>(rel % block_size_);
          const BlockBuffer* b = s->blocks[index].get();
          // A released block is full or the slice's frozen last one: BlockLen holds.
          uint32_t block_len = b ? static_cast<uint32_t>(b->size()) : s->BlockLen(index, block_size_);
          uint32_t take = static_cast<uint32_t>(std::min<uint64_t>(hi - x, block_len - in));
          if (b) {
            p.data.append(b->data() + in, take);
          } else {
            reads.push_back({pieces.size(), p.data.size(), s->id, index, block_len, in, take});
            p.data.append(take, '\0');  // filled below
          }
          x += take;
        }
        pieces.push_back({s->seq, std::move(p)});
      }
    }
  }
  std::vector<bool> gone(pieces.size(), false);
  for (const ReadBack& r : reads) {
    if (gone[r.piece]) continue;
    auto part = blocks_->ReadBlockPart(r.id, r.index, r.block_len, r.in, r.take,
                                       /*fill_cache=*/false);
    if (!part.ok()) {
      // Deleted meanwhile: the slice was committed (the committed read that follows has
      // these bytes, or newer ones) or failed (the bytes were never written).
      if (part.status().Is(Code::kNotFound)) {
        gone[r.piece] = true;
        continue;
      }
      return part.status().WithContext("read back a written block");
    }
    std::memcpy(pieces[r.piece].second.data.data() + r.at, part->data->data() + part->off,
                r.take);
  }
  std::vector<std::pair<uint64_t, OverlayPiece>*> order;
  for (size_t i = 0; i < pieces.size(); i++) {
    if (!gone[i]) order.push_back(&pieces[i]);
  }
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->first < b->first; });
  std::vector<OverlayPiece> out;
  out.reserve(order.size());
  for (auto* p : order) out.push_back(std::move(p->second));
  return out;
}

void DataWriter::State::TimerLoop() {
  const int64_t freeze_ns = int64_t{opts_.freeze_after_ms} * 1000000;
  const int64_t idle_ns = int64_t{opts_.idle_ms} * 1000000;
  const auto tick = std::chrono::milliseconds(std::clamp(opts_.idle_ms / 4, 10, 250));
  std::unique_lock lock(mu_);
  while (!stop_) {
    timer_cv_.wait_for(lock, tick);
    if (stop_) break;
    int64_t now = clock_->MonotonicNanos();
    Work work;
    const std::vector<Ino> with_open(with_open_.begin(), with_open_.end());
    for (Ino ino : with_open) {
      auto it = files_.find(ino);
      if (it == files_.end()) continue;
      const std::shared_ptr<FileState>& f = it->second;
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
    // Idle (nothing buffered, no write for idle_ms): the pool's waiting buffers go, so an
    // idle mount does not keep them.
    const bool trim = buffered_ == 0 && now - last_any_write_ns_ >= idle_ns;
    if (work.empty() && !trim) continue;
    lock.unlock();
    if (trim) buffers_->Trim();
    Run(std::move(work));
    lock.lock();
  }
}


}  // namespace strata::chunk

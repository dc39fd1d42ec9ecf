// DataWriter: freezing slices, uploading their blocks, committing them in order, compaction
// triggers and fsync of blocks stored without sync. Locking rules: writer_state.h.
#include "chunk/writer_state.h"
#include "common/logging.h"

namespace strata::chunk {

void DataWriter::State::FreezeLocked(FileState& f, std::shared_ptr<SliceBuf> s, Work* work) {
  if (s->frozen) return;
  s->frozen = true;
  frozen_bytes_ += s->len - s->released;
  auto it = f.open.find(s->chunk);
  if (it != f.open.end() && it->second == s) f.open.erase(it);
  if (f.open.empty()) with_open_.erase(s->ino);
  for (uint32_t i = s->submitted; i < s->blocks.size(); i++) {
    work->tasks.push_back({s, i});
    uploading_bytes_ += s->blocks[i]->size();
  }
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

std::shared_ptr<const BlockBuffer> DataWriter::State::Tighten(
    SliceBuf& s, uint32_t index, std::shared_ptr<const BlockBuffer> block) {
  // The caches and writeback staging keep the block itself (no copy), so its unused capacity
  // would stay allocated with it: a streamed slice's last block got a whole block's worth,
  // small appends grow by doubling. Such a block is copied once to its size; full blocks,
  // the bulk of a large write, never are.
  const size_t slack = block->capacity() - block->size();
  if (slack <= std::max<size_t>(block->size() / 8, 64 << 10)) return block;
  // Read without the lock: immutable.
  auto tight = std::make_shared<BlockBuffer>(BlockBuffer::Copy(block->view()));
  std::lock_guard lock(mu_);
  s.blocks[index] = tight;
  return tight;
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
  std::shared_ptr<const BlockBuffer> block;
  bool sync;
  {
    std::lock_guard lock(mu_);
    block = s->blocks[index];
    sync = s->sync;
    if (!s->error.ok()) st = s->error;  // a sibling block failed: do not upload more
  }
  if (st.ok()) block = Tighten(*s, index, std::move(block));
  if (st.ok()) {
    st = RunCatching("upload block", [&] {
      return blocks_->PutBlock(s->id, index, block, sync, {s->ino, s->chunk});
    });
  }
  if (!st.ok()) {
    LOG_WARN_EVERY("upload of block {} of slice {} (inode {}) failed: {}", index, s->id, s->ino,
                   st.ToString());
  }
  const uint32_t len = static_cast<uint32_t>(block->size());
  {
    std::lock_guard lock(mu_);
    s->finished++;
    uploading_bytes_ -= len;
    if (st.ok()) {
      s->synced[index] = sync;
      // Stored: the bytes are readable through the tiers now, so the memory goes back at
      // once (writer_state.h), to the pool when the block came from it (`block` is the last
      // reference unless a cache or staging keeps one).
      s->blocks[index].reset();
      s->released += len;
      buffered_ -= len;
      if (s->frozen) frozen_bytes_ -= len;
    } else if (s->error.ok()) {
      s->error = st;
    }
  }
  block.reset();  // outside the lock: the pool's release, or the free
  // Memory freed, or (failed) nothing uploading any more: a writer waiting for buffer space
  // either goes on or freezes open slices itself.
  cv_.notify_all();
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
      keys.push_back(BlockKey(blocks_->options().key_prefix, s.id, i, s.BlockLen(i, block_size_)));
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
    Status st = RunCatching("commit slice", [&] { return CommitSlice(*head, sync, &durable); });
    if (!st.ok()) {
      LOG_WARN_EVERY("commit of slice {} (inode {}, chunk {}) failed: {}", head->id, ino, chunk,
                     st.ToString());
    }
    // The reader's cached segments must be dropped BEFORE the slice leaves the pending queue:
    // in between, a read would find the bytes neither in the overlay nor in its (stale)
    // segments and return zeros (seen under TSan in ReadYourWritesBeforeFlush).
    if (st.ok() && listener) listener(ino, chunk);
    if (!st.ok() && head->id != 0) {
      // Upload-before-commit: blocks of a slice that will never be committed are garbage.
      // A failed delete leaves objects that `strata gc` finds (nothing references them).
      Status del = blocks_->DeleteSlice(head->id, head->len);
      if (!del.ok()) {
        LOG_WARN_EVERY("deleting blocks of uncommitted slice {} failed (gc will find them): {}",
                       head->id, del.ToString());
      }
    }
    uint64_t commits = 0;
    std::vector<std::string> logs;
    {
      std::lock_guard lock(mu_);
      auto& q = f->queues[chunk];
      q.pop_front();
      if (q.empty()) f->queues.erase(chunk);
      f->committing.erase(chunk);
      buffered_ -= head->len - head->released;
      frozen_bytes_ -= head->len - head->released;
      if (st.ok()) {
        commits = ++f->commits[chunk];
        if (blocks_->options().puts_need_sync && !durable) {
          // Fsync (DESIGN.md §6) must make these durable later, even though the slice was
          // committed by a timer long before it.
          for (uint32_t i = 0; i < head->blocks.size(); i++) {
            if (head->synced[i]) continue;
            f->unsynced.push_back(BlockKey(blocks_->options().key_prefix, head->id, i,
                                           head->BlockLen(i, block_size_)));
            unsynced_total_++;
          }
        }
      } else {
        RecordErrorLocked(ino, st, &logs);  // every open description will hear of it
      }
      head->done = true;
      head->blocks.clear();  // memory is released now, the slice may live on in a task
    }
    cv_.notify_all();
    LogAll(logs);
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


}  // namespace strata::chunk

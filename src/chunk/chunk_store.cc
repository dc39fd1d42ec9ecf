#include "chunk/chunk_store.h"

#include <algorithm>

#include "cache/disk_tier.h"
#include "chunk/staging_recovery.h"
#include "common/posix_env.h"

namespace strata::chunk {

Result<ChunkOptions> ChunkOptions::FromFormat(const meta::VolumeFormat& format) {
  ChunkOptions o;
  o.blocks.key_prefix = format.name.empty() ? "" : format.name + "/";
  o.blocks.block_size = format.block_size;
  ASSIGN_OR_RETURN(o.blocks.compression, ParseCompression(format.compression));
  // Only a local directory loses an acknowledged Put in a power cut (see block_store.h).
  // Anything that is not clearly remote keeps the safe default.
  const std::string& url = format.storage_url;
  o.blocks.puts_need_sync = !(url.rfind("mem://", 0) == 0 || url.rfind("s3://", 0) == 0 ||
                              url.rfind("gs://", 0) == 0 || url.rfind("http://", 0) == 0 ||
                              url.rfind("https://", 0) == 0);
  // A store that is a local directory reads as fast as the disk cache would: putting every
  // written block into the caches too only writes it twice to the same disk (measured: a
  // 512 MiB dd conv=fsync at 168-229 MiB/s with a disk cache vs 357-409 without).
  o.blocks.cache_written_blocks = url.rfind("file://", 0) != 0;
  // The same for blocks read: a cold 1 GiB read spent ~25% of the mount's CPU writing and
  // checksumming the disk-cache copies (perf, bench/RESULTS.md issue 16).
  o.disk_fills_from_store = o.blocks.cache_written_blocks;
  return o;
}

Status ChunkOptions::Validate() const {
  RETURN_IF_ERROR(blocks.Validate());
  RETURN_IF_ERROR(writer.Validate());
  RETURN_IF_ERROR(reader.Validate());
  RETURN_IF_ERROR(cache.Validate());
  if (deleter_interval_ms < 1) return Status::InvalidArgument("deleter interval must be >= 1");
  return Status::OK();
}

Result<std::unique_ptr<ChunkStore>> ChunkStore::Open(meta::SliceLog* meta,
                                                     std::shared_ptr<object::ObjectStore> store,
                                                     const ChunkOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<ChunkStore> cs(new ChunkStore());
  ASSIGN_OR_RETURN(cs->cache_, cache::BlockCache::Open(options.cache));
  cs->store_tier_ = std::make_unique<StoreTier>(std::move(store), options.blocks.compression);
  cache::TierChainOptions chain;
  chain.tiers = cs->cache_->tiers();  // memory, disk
  chain.write_target = cs->store_tier_.get();
  if (options.writeback) {
    cache::StagingOptions so = options.staging;
    if (so.env == nullptr) {
      cs->staging_env_ = std::make_unique<PosixEnv>();
      so.env = cs->staging_env_.get();
    }
    ASSIGN_OR_RETURN(cs->staging_, cache::StagingTier::Open(so, cs->store_tier_.get()));
    // Leftovers of a killed process: committed slices are queued for upload, the others
    // removed, before anything is served (reads of leftovers work meanwhile anyway).
    ASSIGN_OR_RETURN(cs->recovered_,
                     RecoverStaging(meta, cs->staging_.get(), options.blocks.key_prefix));
    chain.tiers.push_back(cs->staging_.get());
    chain.write_target = cs->staging_.get();
  }
  // Cache group peers come after this mount's own staged blocks, before the store.
  if (options.group_tier) chain.tiers.push_back(options.group_tier);
  chain.tiers.push_back(cs->store_tier_.get());
  if (!options.disk_fills_from_store && options.group_tier == nullptr && cs->cache_->disk()) {
    chain.no_fills_from_last.push_back(cs->cache_->disk());
  }
  ASSIGN_OR_RETURN(cs->tiers_, cache::TierChain::Open(chain));
  cs->blocks_ = std::make_unique<BlockStore>(cs->tiers_.get(), options.blocks);
  ASSIGN_OR_RETURN(cs->compactor_, Compactor::Open(meta, cs->blocks_.get()));
  cs->deleter_ = std::make_unique<Deleter>(meta, cs->blocks_.get());
  Compactor* auto_compact = options.background_jobs ? cs->compactor_.get() : nullptr;
  ASSIGN_OR_RETURN(cs->reader_,
                   DataReader::Open(meta, cs->blocks_.get(), auto_compact, options.reader));
  ASSIGN_OR_RETURN(cs->writer_,
                   DataWriter::Open(meta, cs->blocks_.get(), auto_compact, options.writer));
  DataReader* reader = cs->reader_.get();
  cs->writer_->SetCommitListener(
      [reader](meta::Ino ino, uint32_t chunk) { reader->Invalidate(ino, chunk); });
  if (options.background_jobs) {
    cs->deleter_->Start(std::chrono::milliseconds(options.deleter_interval_ms));
  }
  return cs;
}

ChunkStore::~ChunkStore() {
  // The writer goes first (it flushes through the blocks and may schedule compactions);
  // members are destroyed in reverse declaration order after this body.
  writer_.reset();
  if (compactor_) compactor_->WaitIdle();
  // Clean unmount: delete the blocks of slices that became unreferenced (files deleted or
  // overwritten just now, compactions just done) instead of leaving them in the store until
  // some client's next periodic pass. Only where background jobs run (not --no-bgjob), and
  // bounded: a slow or failing store must not hold the unmount for long; whatever is left
  // stays pending in the metadata for the next deleter.
  if (deleter_ && deleter_->started()) {
    (void)deleter_->Drain(std::chrono::seconds(10));  // errors: retried by the next deleter
  }
}

Result<std::string> ChunkStore::Read(meta::Ino ino, uint64_t offset, size_t size,
                                     uint64_t length, ReadState* state) {
  ReadBuffer buf;
  RETURN_IF_ERROR(ReadInto(ino, offset, size, length, state, &buf));
  return buf.Flatten();
}

Status ChunkStore::ReadInto(meta::Ino ino, uint64_t offset, size_t size, uint64_t length,
                            ReadState* state, ReadBuffer* out) {
  *out = ReadBuffer();
  // Capture pending writes BEFORE reading committed data: a slice that commits in between is
  // then in both, and laying its (identical) bytes over again is harmless; capturing after
  // could miss it entirely (see writer.h, read-your-writes).
  length = std::max(length, writer_->PendingEnd(ino));
  if (offset >= length || size == 0) return Status::OK();
  uint64_t end = std::min<uint64_t>(offset + size, length);
  ASSIGN_OR_RETURN(std::vector<OverlayPiece> overlay,
                   writer_->CaptureOverlay(ino, offset, end - offset));
  RETURN_IF_ERROR(reader_->ReadInto(ino, offset, end - offset, length, state, out));
  for (OverlayPiece& p : overlay) out->Overlay(p.offset - offset, std::move(p.data));
  return Status::OK();
}

}  // namespace strata::chunk

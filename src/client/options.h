// ClientOptions: the one options tree of a client. Each field's default is written once, in
// the module that owns it (MetaOptions in meta/, WriterOptions/ReaderOptions in chunk/,
// CacheOptions in cache/, VolumeOptions in vfs/); this struct only nests them and adds what
// belongs to the client as a whole (time budgets). `strata mount` binds its flags straight to
// these fields: no copies, no second set of defaults.
//
// Thread-safety: a value. Errors: Validate() -> kInvalidArgument naming the flag.
#pragma once

#include <chrono>
#include <string>

#include "cache/block_cache.h"
#include "cache/staging_tier.h"
#include "cache/cache_group.h"
#include "chunk/reader.h"
#include "chunk/writer.h"
#include "common/logging.h"
#include "common/status.h"
#include "meta/meta.h"
#include "vfs/vfs.h"

namespace strata::client {

// Time budgets (DESIGN.md §2: every engine and store call carries a deadline). Past a budget
// the caller gets an error (EIO at the FUSE edge) and a log line; the same client works again
// once the remote side returns.
struct IoOptions {
  // --meta-timeout: one metadata operation, retries included. Default 30 s.
  std::chrono::milliseconds meta_timeout{30000};
  // --io-timeout: one object-store operation, retries included. Default 60 s.
  std::chrono::milliseconds io_timeout{60000};
  // --io-retries: attempts per object-store operation at most (first included). Default 10.
  int io_retries = 10;
  Status Validate() const;
};

struct ClientOptions {
  std::string meta_url;            // META_URL (required)
  IoOptions io;
  meta::MetaOptions meta;          // heartbeat, session expiry, id batches
  chunk::WriterOptions writer;     // --buffer-size, --max-uploads
  chunk::ReaderOptions reader;     // --max-downloads, readahead
  cache::CacheOptions cache;       // --cache-dir, --cache-size, --free-space-ratio
  // --writeback (default off): stage blocks on local disk, upload in the background
  // (DESIGN.md §6). staging: --writeback-dir (default: CACHE_DIR/writeback-UUID, or
  // ~/.strata/writeback-UUID — /var/lib/strata/writeback-UUID for root — without a cache
  // dir), --writeback-limit, --writeback-memory, --upload-delay; the free-space ratio is the
  // cache's, the upload concurrency --max-uploads, the volume UUID and the clock the client's.
  bool writeback = false;
  cache::StagingOptions staging;
  cache::CacheGroupOptions group;  // --cache-group, --group-listen, --no-sharing, ...
  vfs::VolumeOptions volume;       // mount point, --subdir, --read-only
  bool background_jobs = true;     // --no-bgjob turns off cleanup jobs (off when read-only)
  logging::LogOptions log;         // --log, --log-level (applied by main: InitLogging)
  Status Validate() const;
};

}  // namespace strata::client

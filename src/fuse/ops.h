// The low-level callback table of the FUSE adapter, and the helpers the callbacks share:
// reaching the FuseServer through fuse_req_userdata, the caller's Context, stat conversion and
// replies. Each callback follows one pattern: `DoX()` calls the Volume and builds the reply
// data without holding locks; `X()` only replies, inside a catch-all that replies EIO.
//
// Thread-safety: callbacks run concurrently on libfuse's worker threads; they share nothing
// but the Volume (thread-safe) and read-only options.
#pragma once

#include <sys/stat.h>

#include <cxxabi.h>

#include "common/status.h"
#include "fuse/fuse_includes.h"
#include "fuse/fuse_server.h"
#include "fuse/op_metrics.h"
#include "vfs/vfs.h"

namespace strata::fuse {

const struct fuse_lowlevel_ops& LowLevelOps();

namespace ops {

FuseServer& ServerOf(fuse_req_t req);
vfs::Volume& VolumeOf(fuse_req_t req);
// uid, gid, pid from fuse_req_ctx; supplementary groups from fuse_req_getgroups (non-root).
meta::Context ContextOf(fuse_req_t req);
struct stat ToStat(meta::Ino ino, const meta::Attr& attr, uint32_t block_size);
// Entry reply parameters with the server's timeouts.
struct fuse_entry_param ToEntryParam(fuse_req_t req, const meta::Entry& entry);
// Replies with errno for s (never 0 for an error status; EIO when unmapped).
void ReplyStatus(fuse_req_t req, const Status& s);
// Replies with an errno directly (counted as an error reply when err != 0).
void ReplyErr(fuse_req_t req, int err);

// Registration helpers implemented in each ops_*.cc file.
void FillEntryOps(struct fuse_lowlevel_ops& ops);
void FillFileOps(struct fuse_lowlevel_ops& ops);
void FillDirOps(struct fuse_lowlevel_ops& ops);
void FillXattrLockOps(struct fuse_lowlevel_ops& ops);

// Runs fn; any escaping exception replies EIO (STYLE.md: a catch-all in every callback). fn
// replies exactly once on every path; the reply functions themselves do not throw.
// libfuse cancels its worker threads when the loop ends (pthread_cancel): the forced unwind
// that cancellation throws must pass through, or the process would terminate.
template <typename F>
void Guarded(fuse_req_t req, F&& fn) {
  try {
    fn();
  } catch (abi::__forced_unwind&) {
    throw;
  } catch (...) {
    CountErrorReply(EIO);
    fuse_reply_err(req, EIO);
  }
}

// For FORGET, which has no error reply.
template <typename F>
void GuardedNoReply(fuse_req_t req, F&& fn) {
  try {
    fn();
  } catch (abi::__forced_unwind&) {
    throw;
  } catch (...) {
    fuse_reply_none(req);
  }
}

}  // namespace ops
}  // namespace strata::fuse

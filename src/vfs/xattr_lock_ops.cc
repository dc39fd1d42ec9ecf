// Volume: extended attributes (with the virtual "strata.info"), flock and POSIX locks.
#include <cstdio>
#include <string>

#include "chunk/block_key.h"
#include "vfs/volume_impl.h"

namespace strata::vfs {
namespace {
constexpr char kInfoXattr[] = "strata.info";
// Writeback staging of this mount as JSON (what `strata umount` waits for); ENODATA without
// writeback. Read-only, on every inode.
constexpr char kStagingXattr[] = "strata.staging";

std::string StagingJson(const cache::StagingTier& t) {
  const cache::StagingStats s = t.stats();
  std::string err;
  for (char c : s.last_error) {
    if (c == '"' || c == '\\') err.push_back('\\');
    err.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  }
  std::string dir;
  for (char c : t.dir()) {
    if (c == '"' || c == '\\') dir.push_back('\\');
    dir.push_back(c);
  }
  return "{\"dir\": \"" + dir + "\", \"bytes\": " + std::to_string(s.bytes) +
         ", \"blocks\": " + std::to_string(s.blocks) +
         ", \"uploading\": " + std::to_string(s.uploading) +
         ", \"uploaded\": " + std::to_string(s.uploaded_total) +
         ", \"fallbacks\": " + std::to_string(s.fallbacks) +
         ", \"memory_bytes\": " + std::to_string(s.memory_bytes) +
         ", \"rereads\": " + std::to_string(s.rereads) +
         ", \"held_back\": " + std::to_string(s.held_back) +
         ", \"log_records\": " + std::to_string(s.log_records) +
         ", \"log_groups\": " + std::to_string(s.log_groups) +
         ", \"log_segments\": " + std::to_string(s.log_segments) +
         ", \"log_bytes\": " + std::to_string(s.log_bytes) +
         ", \"upload_errors\": " + std::to_string(s.upload_errors) +
         ", \"last_error\": \"" + err + "\"}";
}
}  // namespace

Result<std::string> Volume::Impl::Info(const meta::Context& ctx, meta::Ino vol) {
  ASSIGN_OR_RETURN(meta::Attr a, meta->GetAttr(vol));
  const meta::VolumeFormat& f = meta->format();
  std::string out = "{\"inode\": " + std::to_string(ToClient(vol)) +
                    ", \"volume_inode\": " + std::to_string(vol) +
                    ", \"length\": " + std::to_string(a.length) +
                    ", \"pending\": " + std::to_string(chunks->PendingEnd(vol)) +
                    ", \"block_size\": " + std::to_string(f.block_size) + ", \"chunks\": [";
  if (a.type == meta::FileType::kRegular) {
    uint64_t nchunks = (a.length + meta::kChunkSize - 1) / meta::kChunkSize;
    bool first_chunk = true;
    for (uint64_t c = 0; c < nchunks; ++c) {
      ASSIGN_OR_RETURN(std::vector<meta::Slice> slices,
                       meta->ReadChunk(vol, static_cast<uint32_t>(c)));
      if (slices.empty()) continue;
      out += first_chunk ? "" : ", ";
      first_chunk = false;
      out += "{\"index\": " + std::to_string(c) + ", \"slices\": [";
      for (size_t i = 0; i < slices.size(); ++i) {
        const meta::Slice& s = slices[i];
        out += i ? ", " : "";
        out += "{\"pos\": " + std::to_string(s.pos) + ", \"id\": " + std::to_string(s.id) +
               ", \"size\": " + std::to_string(s.size) + ", \"off\": " + std::to_string(s.off) +
               ", \"len\": " + std::to_string(s.len) + ", \"objects\": [";
        if (s.id != 0) {
          auto keys = chunk::SliceBlockKeys(f.name + "/", s.id, s.size, f.block_size);
          for (size_t k = 0; k < keys.size(); ++k) {
            out += (k ? ", \"" : "\"") + keys[k] + "\"";
          }
        }
        out += "]}";
      }
      out += "]}";
    }
  }
  out += "]}";
  return out;
}

Result<std::string> Volume::GetXattr(const Context& ctx, Ino ino, const std::string& name) {
  if (IsVirtualIno(ino)) return Status(Code::kNoData, name);
  meta::Ino v = impl_->ToVol(ino);
  if (name == kInfoXattr) return impl_->Info(ctx, v);
  if (name == kStagingXattr) {
    cache::StagingTier* t = impl_->chunks->staging();
    if (t == nullptr) return Status(Code::kNoData, "no writeback on this mount");
    return StagingJson(*t);
  }
  return impl_->meta->GetXattr(ctx, v, name);
}

Status Volume::SetXattr(const Context& ctx, Ino ino, const std::string& name,
                        const std::string& value, int flags) {
  if (IsVirtualIno(ino)) return Status(Code::kNotPermitted, "virtual files cannot be changed");
  RETURN_IF_ERROR(impl_->CheckWritable());
  if (name == kInfoXattr || name == kStagingXattr) {
    return Status(Code::kNotPermitted, name + " is read-only");
  }
  return impl_->meta->SetXattr(ctx, impl_->ToVol(ino), name, value, flags);
}

Result<std::vector<std::string>> Volume::ListXattr(const Context& ctx, Ino ino) {
  if (IsVirtualIno(ino)) return std::vector<std::string>{};
  return impl_->meta->ListXattr(ctx, impl_->ToVol(ino));
}

Status Volume::RemoveXattr(const Context& ctx, Ino ino, const std::string& name) {
  if (IsVirtualIno(ino)) return Status(Code::kNotPermitted, "virtual files cannot be changed");
  RETURN_IF_ERROR(impl_->CheckWritable());
  if (name == kInfoXattr || name == kStagingXattr) {
    return Status(Code::kNotPermitted, name + " is read-only");
  }
  return impl_->meta->RemoveXattr(ctx, impl_->ToVol(ino), name);
}

Status Volume::Flock(const Context& ctx, Ino ino, uint64_t fh, uint64_t owner,
                     meta::LockType type, bool block, const std::function<bool()>& interrupted) {
  if (IsVirtualIno(ino)) return Status(Code::kNotSupported, "no locks on virtual files");
  RETURN_IF_ERROR(impl_->CheckWritable());
  meta::Ino v = impl_->ToVol(ino);
  if (auto h = impl_->GetFile(fh)) {
    std::lock_guard<std::mutex> l(h->mu);
    h->flock_owner = owner;
  }
  // A blocking request waits in Meta's one lock-wait loop (meta/lock_waiter.h), which also
  // wakes at once for releases through this mount and gives up when `interrupted` says so.
  return impl_->meta->Flock(ctx, v, owner, type, block, interrupted);
}

Result<meta::LockRange> Volume::GetLk(const Context& ctx, Ino ino, uint64_t owner,
                                      const meta::LockRange& probe) {
  if (IsVirtualIno(ino)) return Status(Code::kNotSupported, "no locks on virtual files");
  return impl_->meta->GetLk(ctx, impl_->ToVol(ino), owner, probe);
}

Status Volume::SetLk(const Context& ctx, Ino ino, uint64_t fh, uint64_t owner,
                     const meta::LockRange& range, bool block,
                     const std::function<bool()>& interrupted) {
  if (IsVirtualIno(ino)) return Status(Code::kNotSupported, "no locks on virtual files");
  RETURN_IF_ERROR(impl_->CheckWritable());
  meta::Ino v = impl_->ToVol(ino);
  if (range.type != meta::LockType::kUnlock) {
    // Marked before asking, so a close racing with the grant still releases it. Kept while
    // the inode is known here (a file open here keeps it known).
    std::lock_guard<std::mutex> l(impl_->inodes_mu);
    impl_->inodes[v].posix_locked = true;
  }
  return impl_->meta->SetLk(ctx, v, owner, range, block, interrupted);  // waits as Flock does
}

}  // namespace strata::vfs

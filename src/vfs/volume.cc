// Volume: opening (format, store, data path, subdir, session), closing, the inode table and
// the handle table.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "chunk/chunk_store.h"
#include "meta/meta.h"
#include "common/logging.h"
#include "vfs/volume_impl.h"
#include "vfs/vfs.h"

namespace strata::vfs {

Status VolumeOptions::Validate() const {
  for (size_t i = 0; i < subdir.size();) {
    size_t j = subdir.find('/', i);
    if (j == std::string::npos) j = subdir.size();
    std::string part = subdir.substr(i, j - i);
    if (part == "..") return Status::InvalidArgument("--subdir must not contain '..'");
    i = j + 1;
  }
  return Status::OK();
}

namespace {

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

// The subdir's inode, walked from the volume root as root (the mount's owner decides what to
// expose).
Result<meta::Ino> ResolveSubdir(meta::Meta& m, const std::string& subdir) {
  auto ino = m.ResolveDir(subdir);
  if (ino.ok()) return ino;
  if (ino.status().Is(Code::kNotDir)) {
    return Status(Code::kNotDir, "--subdir " + subdir + " is not a directory");
  }
  return ino.status().WithContext("--subdir " + subdir);
}

}  // namespace

Volume::Volume(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Volume>> Volume::Open(VolumeParts parts, const VolumeOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  if (!parts.engine || !parts.meta || !parts.store || !parts.chunks) {
    return Status::InvalidArgument("volume parts missing");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->engine = std::move(parts.engine);
  impl->meta = std::move(parts.meta);
  impl->store = std::move(parts.store);
  impl->chunks = std::move(parts.chunks);
  impl->virt = std::make_unique<VirtualFiles>(std::move(parts.virtual_sources));
  if (!options.subdir.empty()) {
    ASSIGN_OR_RETURN(impl->root, ResolveSubdir(*impl->meta, options.subdir));
  }
  if (!options.read_only) {
    meta::SessionInfo info;
    info.host = HostName();
    info.mount_point = options.mount_point;
    info.pid = static_cast<uint32_t>(getpid());
    info.version = options.version;
    info.cache_group = options.cache_group;
    info.peer_address = options.peer_address;
    info.cache_weight = options.cache_weight;
    RETURN_IF_ERROR(impl->meta->NewSession(info));
  }
  return std::unique_ptr<Volume>(new Volume(std::move(impl)));
}

Volume::~Volume() {
  if (!impl_) return;
  impl_->virt->access_log().Shutdown();  // a waiting .accesslog reader lets go
  Status s = FlushAll();
  if (!s.ok()) LOG_ERROR("flushing open files at unmount: {}", s.ToString());
  impl_->chunks.reset();
  if (!impl_->options.read_only) {
    Status c = impl_->meta->CloseSession();
    if (!c.ok()) LOG_WARN("closing session {}: {}", impl_->meta->session_id(), c.ToString());
  }
  impl_->meta.reset();
}

Status Volume::FlushAll() { return impl_->chunks ? impl_->chunks->FlushAll() : Status::OK(); }

const std::string& Volume::name() const { return impl_->meta->format().name; }
uint32_t Volume::block_size() const { return impl_->meta->format().block_size; }
bool Volume::read_only() const { return impl_->options.read_only; }
chunk::ChunkStore* Volume::chunk_store() { return impl_->chunks.get(); }
meta::Meta* Volume::meta() { return impl_->meta.get(); }
VirtualFiles& Volume::virtual_files() { return *impl_->virt; }
size_t Volume::open_file_handles() {
  std::lock_guard<std::mutex> l(impl_->handles_mu);
  return impl_->files.size();
}

// ---- Impl helpers

Status Volume::Impl::CheckWritable() const {
  if (options.read_only) return Status(Code::kReadOnly, "read-only mount");
  return Status::OK();
}

meta::Attr Volume::Impl::Overlay(meta::Ino vol, meta::Attr attr) {
  if (attr.type != meta::FileType::kRegular) return attr;
  uint64_t length = std::max(attr.length, chunks->PendingEnd(vol));
  std::optional<uint64_t> known;
  {
    std::lock_guard<std::mutex> l(inodes_mu);
    auto it = inodes.find(vol);
    if (it != inodes.end()) known = it->second.length;
  }
  if (known && length < *known) {
    // Shorter than this client wrote or saw: either another client truncated the file, or one
    // of our slices was committed between the caller's metadata read and PendingEnd, so that
    // neither showed it (fsx found this as a stat size going back). The pending end sampled
    // BEFORE a fresh metadata read cannot miss a commit, and tells the two apart.
    uint64_t pending = chunks->PendingEnd(vol);
    auto fresh = meta->GetAttr(vol);
    if (fresh.ok()) {
      attr = *fresh;
      length = std::max(fresh->length, pending);
    }
  }
  {
    // Committed local writes are in attr already, and a truncate by another client shows as
    // a shorter attr: the fresh meta length (plus what is pending here) is the right base.
    std::lock_guard<std::mutex> l(inodes_mu);
    auto it = inodes.find(vol);
    if (it != inodes.end()) it->second.length = length;
  }
  attr.length = length;
  return attr;
}

meta::Entry Volume::Impl::ClientEntry(const meta::Entry& e) {
  meta::Entry out;
  out.ino = ToClient(e.ino);
  out.attr = Overlay(e.ino, e.attr);
  return out;
}

uint64_t Volume::Impl::KnownLength(meta::Ino vol) {
  uint64_t pending = chunks->PendingEnd(vol);
  {
    std::lock_guard<std::mutex> l(inodes_mu);
    auto it = inodes.find(vol);
    if (it != inodes.end() && it->second.length) return std::max(*it->second.length, pending);
  }
  auto a = meta->GetAttr(vol);
  uint64_t len = a.ok() ? a->length : 0;
  SetKnownLength(vol, len);
  return std::max(len, pending);
}

void Volume::Impl::SetKnownLength(meta::Ino vol, uint64_t length) {
  std::lock_guard<std::mutex> l(inodes_mu);
  auto it = inodes.find(vol);
  if (it != inodes.end()) it->second.length = length;
}

void Volume::Impl::RaiseKnownLength(meta::Ino vol, uint64_t end) {
  std::lock_guard<std::mutex> l(inodes_mu);
  auto it = inodes.find(vol);
  if (it != inodes.end() && it->second.length) {
    it->second.length = std::max(*it->second.length, end);
  }
}

Status Volume::Impl::RefreshLength(meta::Ino vol) {
  ASSIGN_OR_RETURN(meta::Attr a, meta->GetAttr(vol));
  SetKnownLength(vol, a.length);
  return Status::OK();
}

std::shared_ptr<FileHandle> Volume::Impl::GetFile(uint64_t fh) {
  std::lock_guard<std::mutex> l(handles_mu);
  auto it = files.find(fh);
  return it == files.end() ? nullptr : it->second;
}

std::shared_ptr<DirHandle> Volume::Impl::GetDir(uint64_t fh) {
  std::lock_guard<std::mutex> l(handles_mu);
  auto it = dirs.find(fh);
  return it == dirs.end() ? nullptr : it->second;
}

uint64_t Volume::Impl::AddFile(std::shared_ptr<FileHandle> h) {
  uint64_t fh = next_fh.fetch_add(1);
  std::lock_guard<std::mutex> l(handles_mu);
  files[fh] = std::move(h);
  return fh;
}

uint64_t Volume::Impl::AddDir(std::shared_ptr<DirHandle> h) {
  uint64_t fh = next_fh.fetch_add(1);
  std::lock_guard<std::mutex> l(handles_mu);
  dirs[fh] = std::move(h);
  return fh;
}

void Volume::Impl::MaybeDropLocked(meta::Ino vol) {
  auto it = inodes.find(vol);
  if (it != inodes.end() && it->second.refs == 0 && it->second.open_handles == 0) {
    inodes.erase(it);
  }
}

bool Volume::Impl::InSubtree(meta::Ino dir) {
  meta::Ino cur = dir;
  for (int depth = 0; depth < 4096 && cur != 0; ++depth) {
    if (cur == root) return true;
    if (cur == meta::kRootIno) return false;
    auto a = meta->GetAttr(cur);
    if (!a.ok()) return false;  // gone: its trashed children belong to nobody's view
    cur = a->parent;
  }
  return false;
}

bool Volume::Impl::TrashEntryVisible(const std::string& name) {
  if (!FiltersTrash()) return true;
  size_t dash = name.find('-');
  if (dash == 0 || dash == std::string::npos) return false;
  meta::Ino parent = 0;
  for (size_t i = 0; i < dash; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    parent = parent * 10 + static_cast<meta::Ino>(name[i] - '0');
  }
  return InSubtree(parent);
}

void Volume::AddRef(Ino ino) {
  if (IsVirtualIno(ino)) return;  // nothing to keep: virtual files are always there
  std::lock_guard<std::mutex> l(impl_->inodes_mu);
  impl_->inodes[impl_->ToVol(ino)].refs++;
}

void Volume::Forget(Ino ino, uint64_t n) {
  if (IsVirtualIno(ino)) return;
  meta::Ino vol = impl_->ToVol(ino);
  std::lock_guard<std::mutex> l(impl_->inodes_mu);
  auto it = impl_->inodes.find(vol);
  if (it == impl_->inodes.end()) return;
  it->second.refs = it->second.refs > n ? it->second.refs - n : 0;
  impl_->MaybeDropLocked(vol);
}

}  // namespace strata::vfs

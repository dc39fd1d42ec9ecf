#include "vfs/virtual_files.h"

#include <fcntl.h>

namespace strata::vfs {

namespace {

struct Named {
  std::string_view name;
  meta::Ino ino;
  uint32_t mode;
};
// .stats is for everyone; the access log (who did what) and the options are root's.
constexpr Named kFiles[] = {
    {".stats", kStatsIno, 0444},
    {".accesslog", kAccessLogIno, 0400},
    {".config", kConfigIno, 0400},
};

}  // namespace

VirtualFiles::VirtualFiles(VirtualSources sources)
    : sources_(std::move(sources)),
      clock_(sources_.clock ? sources_.clock : SystemClock::Get()),
      created_ns_(clock_->NowNanos()),
      access_log_(clock_) {}

VirtualFiles::~VirtualFiles() { access_log_.Shutdown(); }

std::optional<meta::Ino> VirtualFiles::Find(std::string_view name) {
  for (const Named& f : kFiles) {
    if (f.name == name) return f.ino;
  }
  return std::nullopt;
}

std::string VirtualFiles::Render(meta::Ino ino) {
  if (ino == kStatsIno && sources_.stats) return sources_.stats();
  if (ino == kConfigIno && sources_.config) return sources_.config();
  return "";
}

meta::Attr VirtualFiles::GetAttr(meta::Ino ino) {
  meta::Attr a;
  a.type = meta::FileType::kRegular;
  for (const Named& f : kFiles) {
    if (f.ino == ino) a.mode = f.mode;
  }
  a.nlink = 1;
  a.parent = meta::kRootIno;
  meta::Timespec t{created_ns_ / 1000000000, static_cast<uint32_t>(created_ns_ % 1000000000)};
  a.ctime = t;
  a.mtime = t;
  int64_t now = clock_->NowNanos();
  a.atime = {now / 1000000000, static_cast<uint32_t>(now % 1000000000)};
  // The stream has no length; the texts report what a read would return now.
  a.length = ino == kAccessLogIno ? 0 : Render(ino).size();
  return a;
}

Result<uint64_t> VirtualFiles::Open(meta::Ino ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
    return Status(Code::kNotPermitted, "virtual files are read-only");
  }
  Handle h;
  h.ino = ino;
  if (ino == kAccessLogIno) {
    h.reader = access_log_.OpenReader();
  } else {
    h.text = Render(ino);
  }
  std::lock_guard<std::mutex> l(mu_);
  uint64_t fh = next_fh_++;
  handles_.emplace(fh, std::move(h));
  return fh;
}

Status VirtualFiles::Read(uint64_t fh, uint64_t off, size_t size, std::string* out,
                          const std::function<bool()>& interrupted) {
  uint64_t reader = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return Status(Code::kBadHandle, "unknown virtual file handle");
    const Handle& h = it->second;
    if (h.ino != kAccessLogIno) {
      out->clear();
      if (off < h.text.size()) *out = h.text.substr(off, size);
      return Status::OK();
    }
    reader = h.reader;
  }
  // Waits without holding mu_: other handles stay usable.
  return access_log_.Read(reader, size, out, interrupted);
}

Status VirtualFiles::Release(uint64_t fh) {
  Handle h;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return Status(Code::kBadHandle, "unknown virtual file handle");
    h = std::move(it->second);
    handles_.erase(it);
  }
  if (h.ino == kAccessLogIno) access_log_.CloseReader(h.reader);
  return Status::OK();
}

}  // namespace strata::vfs

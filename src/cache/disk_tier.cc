#include "cache/disk_tier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <vector>

#include "common/bytes.h"
#include "common/crc32c.h"

namespace strata::cache {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kCacheMagic = 0x53434331;  // "SCC1"
constexpr size_t kTrailer = 8;

// Writes all of `data` to fd; errno-style Status on failure.
Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Result<std::string> ReadWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, "open " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return FromErrno(e, "stat " + path);
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return FromErrno(e, "read " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

}  // namespace

bool DiskTier::ValidKey(std::string_view key) {
  if (key.empty() || key.front() == '/' || key.back() == '/') return false;
  if (key.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view seg = key.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (seg.find(".tmp.") != std::string_view::npos) return false;  // reserved for temp files
    start = end + 1;
  }
  return true;
}

Result<std::unique_ptr<DiskTier>> DiskTier::Open(const std::string& dir, uint64_t capacity,
                                                 double free_space_ratio) {
  std::string root = dir + "/blocks";
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Status::IOError("cannot create cache directory " + root + ": " + ec.message());
  std::unique_ptr<DiskTier> tier(new DiskTier(root, capacity, free_space_ratio));
  RETURN_IF_ERROR(tier->Scan());
  return tier;
}

Status DiskTier::Scan() {
  struct Found {
    std::string key;
    uint64_t size;
    fs::file_time_type mtime;
  };
  std::vector<Found> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(root_, ec), end;
  if (ec) return Status::IOError("cannot read cache directory " + root_ + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::IOError("cannot scan cache directory " + root_ + ": " + ec.message());
    if (!it->is_regular_file(ec)) continue;
    std::string path = it->path().string();
    std::string key = path.substr(root_.size() + 1);
    if (key.find(".tmp.") != std::string::npos) {  // a write interrupted by a crash
      fs::remove(it->path(), ec);
      continue;
    }
    uint64_t size = it->file_size(ec);
    if (ec || size < kTrailer || !ValidKey(key)) continue;
    found.push_back({key, size - kTrailer, it->last_write_time(ec)});
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.mtime > b.mtime; });  // newest first
  std::vector<std::string> over;
  {
    std::lock_guard lock(mu_);
    for (auto& f : found) {
      if (bytes_ + f.size > capacity_) {  // the limit shrank since last run
        over.push_back(PathOf(f.key));
        continue;
      }
      lru_.push_back(f.key);
      index_[f.key] = Entry{f.size, std::prev(lru_.end())};
      bytes_ += f.size;
    }
  }
  for (auto& p : over) ::unlink(p.c_str());
  return Status::OK();
}

void DiskTier::Disable(const Status& why) {
  // Deliberately absorbed: a failing cache disk must not fail reads (DESIGN.md §7). The
  // counter and disk_enabled() make it visible in stats.
  errors_++;
  enabled_ = false;
  (void)why;
}

std::shared_ptr<const std::string> DiskTier::Get(const std::string& key) {
  if (!enabled_) return nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  std::string path = PathOf(key);
  auto body = ReadWhole(path);
  if (!body.ok()) {
    if (!body.status().Is(Code::kNotFound)) Disable(body.status());
    Remove(key);
    return nullptr;
  }
  std::string& b = *body;
  bool good = b.size() >= kTrailer;
  if (good) {
    const char* t = b.data() + b.size() - kTrailer;
    good = GetU32BE(t + 4) == kCacheMagic &&
           GetU32BE(t) == Crc32c(std::string_view(b.data(), b.size() - kTrailer));
  }
  if (!good) {
    corrupt_++;
    Remove(key);  // never return it; the caller re-fetches from the store
    return nullptr;
  }
  b.resize(b.size() - kTrailer);
  return std::make_shared<const std::string>(std::move(b));
}

bool DiskTier::FreeSpaceAllows(uint64_t incoming) const {
  if (ratio_ <= 0) return true;
  struct statvfs sv;
  if (::statvfs(root_.c_str(), &sv) != 0) return true;  // unknown: rely on cache_size
  double total = static_cast<double>(sv.f_blocks) * sv.f_frsize;
  double avail = static_cast<double>(sv.f_bavail) * sv.f_frsize;
  return avail - static_cast<double>(incoming) >= ratio_ * total;
}

std::vector<std::string> DiskTier::MakeRoomLocked(uint64_t incoming) {
  std::vector<std::string> victims;
  while (!lru_.empty() && bytes_ + incoming > capacity_) {
    auto it = index_.find(lru_.back());
    bytes_ -= it->second.size;
    victims.push_back(PathOf(it->first));
    lru_.pop_back();
    index_.erase(it);
  }
  return victims;
}

uint64_t DiskTier::Put(const std::string& key, std::string_view data) {
  if (!enabled_ || data.size() + kTrailer > capacity_ || !ValidKey(key)) return 0;
  uint64_t evicted = 0;
  {
    std::vector<std::string> victims;
    {
      std::lock_guard lock(mu_);
      if (index_.count(key)) return 0;  // blocks are immutable: already cached
      victims = MakeRoomLocked(data.size());
    }
    // Free-space ratio: evict further (oldest first) while the file system is too full.
    for (auto& v : victims) ::unlink(v.c_str());
    evicted = victims.size();
    while (!FreeSpaceAllows(data.size() + kTrailer)) {
      std::string oldest;
      {
        std::lock_guard lock(mu_);
        if (lru_.empty()) break;
        oldest = lru_.back();
        bytes_ -= index_[oldest].size;
        index_.erase(oldest);
        lru_.pop_back();
      }
      ::unlink(PathOf(oldest).c_str());
      evicted++;
    }
    if (!FreeSpaceAllows(data.size() + kTrailer)) return evicted;
  }
  std::string path = PathOf(key);
  std::string tmp = path + ".tmp." + std::to_string(tmp_counter_++);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) {
    Disable(Status::IOError("mkdir for cache file " + path + ": " + ec.message()));
    return evicted;
  }
  std::string trailer;
  PutU32BE(&trailer, Crc32c(data));
  PutU32BE(&trailer, kCacheMagic);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    Disable(FromErrno(errno, "create " + tmp));
    return evicted;
  }
  Status st = WriteAll(fd, data, tmp);
  if (st.ok()) st = WriteAll(fd, trailer, tmp);
  if (::close(fd) != 0 && st.ok()) st = FromErrno(errno, "close " + tmp);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = FromErrno(errno, "rename " + tmp);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    Disable(st);
    return evicted;
  }
  std::vector<std::string> victims;
  {
    std::lock_guard lock(mu_);
    if (!index_.count(key)) {
      victims = MakeRoomLocked(data.size());  // a concurrent Put may have used the room
      lru_.push_front(key);
      index_[key] = Entry{data.size(), lru_.begin()};
      bytes_ += data.size();
    }
  }
  for (auto& v : victims) ::unlink(v.c_str());
  return evicted + victims.size();
}

void DiskTier::Remove(const std::string& key) {
  bool had = false;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      bytes_ -= it->second.size;
      lru_.erase(it->second.lru);
      index_.erase(it);
      had = true;
    }
  }
  if (had) ::unlink(PathOf(key).c_str());
}

bool DiskTier::Contains(const std::string& key) {
  std::lock_guard lock(mu_);
  return index_.count(key) > 0;
}

uint64_t DiskTier::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

uint64_t DiskTier::blocks() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

}  // namespace strata::cache

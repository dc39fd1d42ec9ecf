#include "cache/disk_tier.h"

#include <algorithm>
#include <vector>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/logging.h"

namespace strata::cache {

namespace {

constexpr uint32_t kCacheMagic = 0x53434331;  // "SCC1"
constexpr size_t kTrailer = 8;

bool IsTemp(std::string_view name) { return name.find(".tmp.") != std::string_view::npos; }

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
    if (IsTemp(seg)) return false;  // reserved for temporary files
    start = end + 1;
  }
  return true;
}

Result<std::unique_ptr<DiskTier>> DiskTier::Open(Env* env, const std::string& dir,
                                                 uint64_t capacity, double free_space_ratio) {
  std::string root = JoinPath(dir, "blocks");
  Status st = env->CreateDirs(root);
  if (!st.ok())
    return Status::IOError("cannot create cache directory " + root + ": " + st.ToString());
  std::unique_ptr<DiskTier> tier(new DiskTier(env, root, capacity, free_space_ratio));
  RETURN_IF_ERROR(tier->Scan());
  return tier;
}

Status DiskTier::ScanDir(const std::string& rel, std::vector<Found>* found) {
  std::string dir = rel.empty() ? root_ : PathOf(rel);
  auto entries = env_->ListDir(dir);
  if (!entries.ok()) {
    return Status::IOError("cannot scan cache directory " + dir + ": " +
                           entries.status().ToString());
  }
  for (const DirEntry& e : *entries) {
    std::string key = rel.empty() ? e.name : rel + "/" + e.name;
    if (e.type == FileType::kDirectory) {
      RETURN_IF_ERROR(ScanDir(key, found));
      continue;
    }
    if (e.type != FileType::kRegular) continue;
    if (IsTemp(e.name)) {  // a write interrupted by a crash
      // Deliberately dropped: a leftover we cannot remove is ignored again next time.
      (void)env_->RemoveFile(PathOf(key));
      continue;
    }
    auto info = env_->Stat(PathOf(key));
    if (!info.ok() || info->size < kTrailer || !ValidKey(key)) continue;
    found->push_back({key, info->size - kTrailer, info->mtime_nanos});
  }
  return Status::OK();
}

Status DiskTier::Scan() {
  std::vector<Found> found;
  RETURN_IF_ERROR(ScanDir("", &found));
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.mtime_ns > b.mtime_ns;
  });  // newest first
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
  RemoveFiles(over);
  return Status::OK();
}

void DiskTier::Disable(const Status& why) {
  // A failing cache disk must not fail reads (DESIGN.md §7): the tier goes, reads go on. The
  // log line, the counter and disk_enabled() make it visible.
  if (enabled_.exchange(false)) {
    errors_++;
    LOG_WARN("cache disk {} disabled: {}", root_, why.ToString());
  }
}

void DiskTier::RemoveFiles(const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    Status st = env_->RemoveFile(p);
    if (!st.ok() && !st.Is(Code::kNotFound)) Disable(st);
  }
}

// A cache file never changes once renamed into place, so its size is trusted: one read of
// exactly that many bytes into a buffer that is not zero-filled first. The read bypasses the
// host's page cache (O_DIRECT, Env::ReadFileUncached): the block goes on into the memory tier
// and the kernel's FUSE page cache, so a cached copy of the file would be a third copy of it
// in memory, and its first copy (page cache -> buffer) a pass over the block for nothing. At
// 4 GiB read on a machine whose memory is full, that copy was page-cache reclaim on every
// read (bench/RESULTS.md "The 4 GiB local and peer hit"). Peers are served from the page
// cache (OpenStored, sendfile) as before: an owner's hot blocks stay cached for them.
Result<BlockBuffer> DiskTier::ReadCacheFile(const std::string& path) {
  return env_->ReadFileUncached(path);  // a short read fails the checksum below
}

bool DiskTier::Touch(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return true;
}

Result<BlockData> DiskTier::Get(const std::string& key, uint32_t expected_len) {
  (void)expected_len;  // checked by the chain for every tier
  if (!enabled_) return Status::NotFound("disk tier disabled");
  if (!Touch(key)) return Status::NotFound("not in the disk cache");
  const std::string path = PathOf(key);
  auto body = ReadCacheFile(path);
  if (!body.ok()) {
    (void)Remove(key);  // always OK
    if (body.status().Is(Code::kNotFound)) return Status::NotFound("cache file vanished");
    Disable(body.status());
    return body.status().WithContext("read cache file " + path);
  }
  BlockBuffer& b = *body;
  bool good = b.size() >= kTrailer;
  if (good) {
    const char* t = b.data() + b.size() - kTrailer;
    good = GetU32BE(t + 4) == kCacheMagic &&
           GetU32BE(t) == Crc32c(std::string_view(b.data(), b.size() - kTrailer));
  }
  if (!good) {
    corrupt_++;
    (void)Remove(key);  // never return it; the chain fetches the block from a later tier
    return Status::Corruption("cache file " + path + " fails its checksum (deleted)");
  }
  b.Shrink(b.size() - kTrailer);  // the trailer stays in the allocation: no copy
  return BlockBuffer::Share(std::move(b));
}

Result<StoredBlock> DiskTier::OpenStored(const std::string& key, uint32_t len) {
  if (!enabled_) return Status::NotFound("disk tier disabled");
  if (!Touch(key)) return Status::NotFound("not in the disk cache");
  const std::string path = PathOf(key);
  auto file = env_->NewRandomAccessFile(path);
  if (!file.ok()) {
    (void)Remove(key);  // always OK
    if (file.status().Is(Code::kNotFound)) return Status::NotFound("cache file vanished");
    Disable(file.status());
    return file.status().WithContext("open cache file " + path);
  }
  char t[kTrailer];
  auto size = (*file)->Size();
  auto n = size.ok() && *size == uint64_t{len} + kTrailer ? (*file)->ReadAt(len, kTrailer, t)
                                                          : Result<size_t>(size_t{0});
  if (!size.ok() || !n.ok()) {
    Status st = !size.ok() ? size.status() : n.status();
    (void)Remove(key);
    Disable(st);
    return st.WithContext("read cache file " + path);
  }
  if (*n != kTrailer || GetU32BE(t + 4) != kCacheMagic) {
    corrupt_++;
    (void)Remove(key);
    return Status::Corruption("cache file " + path + " is not a block of " + std::to_string(len) +
                              " bytes with its trailer (deleted)");
  }
  return StoredBlock{std::move(*file), GetU32BE(t)};
}

bool DiskTier::FreeSpaceAllows(uint64_t incoming) const {
  if (ratio_ <= 0) return true;
  auto space = env_->GetSpace(root_);
  if (!space.ok()) return true;  // unknown: rely on cache_size
  double total = static_cast<double>(space->total_bytes);
  double avail = static_cast<double>(space->free_bytes);
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

Status DiskTier::WriteFile(const std::string& key, std::string_view data) {
  std::string path = PathOf(key);
  RETURN_IF_ERROR(env_->CreateDirs(Dirname(path)));
  std::string trailer;
  PutU32BE(&trailer, Crc32c(data));
  PutU32BE(&trailer, kCacheMagic);
  // No sync: a cache file lost in a power cut is only a miss, and one cut short is caught by
  // its checksum. The temporary name is Env::TempPathFor's (".tmp.": Scan removes leftovers).
  return env_->WriteFileAtomic(path, [&](WritableFile& file) -> Status {
    RETURN_IF_ERROR(file.Append(data));  // block and trailer unjoined: no copy of the block
    return file.Append(trailer);
  });
}

Status DiskTier::Put(const std::string& key, BlockData block) {
  std::string_view data = block->view();
  // Declined, not failed: the block is cached in the other tiers (or fetched again).
  if (!enabled_ || data.size() + kTrailer > capacity_ || !ValidKey(key)) return Status::OK();
  uint64_t evicted_now = 0;
  {
    std::vector<std::string> victims;
    {
      std::lock_guard lock(mu_);
      if (index_.count(key)) return Status::OK();  // blocks are immutable: already cached
      victims = MakeRoomLocked(data.size());
    }
    RemoveFiles(victims);
    evicted_now = victims.size();
    // Free-space ratio: evict further (oldest first) while the file system is too full.
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
      RemoveFiles({PathOf(oldest)});
      evicted_now++;
    }
    evictions_ += evicted_now;
    if (!FreeSpaceAllows(data.size() + kTrailer)) return Status::OK();  // declined: disk full
  }
  if (Status st = WriteFile(key, data); !st.ok()) {
    Disable(st);
    return st.WithContext("write cache file " + PathOf(key));
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
  RemoveFiles(victims);
  evictions_ += victims.size();
  return Status::OK();
}

Status DiskTier::Remove(const std::string& key) {
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
  if (had) RemoveFiles({PathOf(key)});  // an unlink error disables the tier (logged there)
  return Status::OK();
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

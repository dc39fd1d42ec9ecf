#include "common/env.h"

#include <unistd.h>

#include <random>

#include "common/logging.h"

namespace strata {

Result<std::string> RandomAccessFile::Read(uint64_t offset, size_t n) const {
  std::string out(n, '\0');
  ASSIGN_OR_RETURN(size_t got, ReadAt(offset, n, out.data()));
  out.resize(got);
  return out;
}

Result<BlockBuffer> RandomAccessFile::ReadToBuffer(uint64_t offset, size_t n) const {
  BlockBuffer out = BlockBuffer::Uninitialized(n);
  ASSIGN_OR_RETURN(size_t got, ReadAt(offset, n, out.mutable_data()));
  out.Shrink(got);  // only the bytes read are kept: nothing indeterminate is ever read
  return out;
}

Env::Env() : tmp_salt_(std::random_device{}()) {}

std::string Env::TempPathFor(const std::string& path) {
  uint64_t seq = tmp_seq_.fetch_add(1, std::memory_order_relaxed);
  return path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(seq) + "." +
         std::to_string(tmp_salt_ & 0xFFFFFF);
}

Status Env::WriteFileAtomic(const std::string& path, std::string_view data,
                            const AtomicWriteOptions& options) {
  return WriteFileAtomic(
      path, [data](WritableFile& file) { return file.Append(data); }, options);
}

Status Env::WriteFileAtomic(const std::string& path,
                            const std::function<Status(WritableFile& file)>& fill,
                            const AtomicWriteOptions& options) {
  const std::string tmp = options.temp_path.empty() ? TempPathFor(path) : options.temp_path;
  ASSIGN_OR_RETURN(auto file, NewWritableFile(tmp, OpenMode::kCreateNew));
  Status s = fill(*file);
  if (s.ok() && options.sync) s = file->Sync();
  Status closed = file->Close();
  if (s.ok()) s = closed;
  if (s.ok()) s = Rename(tmp, path, options.no_replace);
  if (!s.ok()) {
    // The first error is the one to report. A leftover temporary file is recognisable by its
    // name (".tmp.", or the caller's temp_path scheme) and is only logged.
    Status removed = RemoveFile(tmp);
    if (!removed.ok() && !removed.Is(Code::kNotFound)) {
      LOG_WARN("atomic write of {} failed ({}) and its temporary file stays: {}", path,
               s.ToString(), removed.ToString());
    }
    return s;
  }
  if (options.sync) return SyncDir(Dirname(path));
  return Status::OK();
}

Result<std::string> Env::ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(auto file, NewRandomAccessFile(path));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string out;
  // Read until EOF rather than trusting the size: the file may grow meanwhile.
  constexpr size_t kStep = 1 << 20;
  uint64_t offset = 0;
  out.reserve(size);
  while (true) {
    size_t want = std::max<uint64_t>(kStep, size > offset ? size - offset : 0);
    size_t old = out.size();
    out.resize(old + want);
    ASSIGN_OR_RETURN(size_t got, file->ReadAt(offset, want, out.data() + old));
    out.resize(old + got);
    offset += got;
    if (got < want) break;
  }
  return out;
}

Result<BlockBuffer> Env::ReadFileToBuffer(const std::string& path) {
  ASSIGN_OR_RETURN(auto file, NewRandomAccessFile(path));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  return file->ReadToBuffer(0, size);
}

std::string Dirname(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  out += name;
  return out;
}

}  // namespace strata

#include "csi/volume_dirs.h"

#include <sys/stat.h>

#include <sstream>
#include <vector>

#include "common/uri.h"
#include "meta/quota.h"

namespace strata::csi {
namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  std::string p;
  while (std::getline(ss, p, '/')) {
    if (!p.empty() && p != ".") parts.push_back(p);
  }
  return parts;
}

}  // namespace

Status CheckDatabaseFile(const VolumeSecrets& s) {
  auto uri = ParseUri(s.meta_url);
  if (!uri.ok() || uri->scheme != "sqlite3") return Status::OK();
  struct stat st;
  if (stat(uri->path.c_str(), &st) != 0 || (S_ISREG(st.st_mode) && st.st_size == 0)) {
    return Status::NotFound("volume is not formatted (no database at " + s.masked_url + ")");
  }
  return Status::OK();
}

Result<std::string> NormalizeVolumePath(const std::string& path) {
  if (path.find('\0') != std::string::npos) return Status::InvalidArgument("NUL in a path");
  std::string out;
  for (const std::string& p : Split(path)) {
    if (p == "..") return Status::InvalidArgument("'..' in volume path '" + path + "'");
    if (out.empty() && p == ".trash") {
      return Status::InvalidArgument("the trash cannot hold a volume: '" + path + "'");
    }
    if (p.size() > 255) return Status(Code::kNameTooLong, "name too long in '" + path + "'");
    out += (out.empty() ? "" : "/") + p;
  }
  return out;
}

Result<std::unique_ptr<VolumeDirs>> VolumeDirs::Open(const client::Registries& registries,
                                                     const VolumeSecrets& secrets) {
  RETURN_IF_ERROR(CheckDatabaseFile(secrets));
  ASSIGN_OR_RETURN(auto engine, registries.engines.Open(secrets.meta_url));
  meta::MetaOptions opts;
  opts.background_jobs = false;
  ASSIGN_OR_RETURN(auto m, meta::Meta::Open(engine, opts));
  return std::unique_ptr<VolumeDirs>(new VolumeDirs(std::move(m)));
}

Status VolumeDirs::Create(const std::string& path, uint64_t capacity) {
  ASSIGN_OR_RETURN(std::string norm, NormalizeVolumePath(path));
  if (norm.empty()) return Status::InvalidArgument("a volume needs a directory below the root");
  const meta::Context root;
  meta::Ino dir = meta::kRootIno;
  const std::vector<std::string> parts = Split(norm);
  bool created = false;
  for (size_t i = 0; i < parts.size(); i++) {
    const bool leaf = i + 1 == parts.size();
    auto e = meta_->Lookup(root, dir, parts[i]);
    if (!e.ok() && e.status().Is(Code::kNotFound)) {
      e = meta_->Mkdir(root, dir, parts[i], leaf ? 0777 : 0755);
      if (e.ok()) created = created || leaf;
      // Another controller (or a retried call) made it between our lookup and mkdir.
      if (!e.ok() && e.status().Is(Code::kAlreadyExists)) e = meta_->Lookup(root, dir, parts[i]);
    }
    if (!e.ok()) return e.status();
    if (e->attr.type != meta::FileType::kDirectory) {
      return Status::AlreadyExists("'" + parts[i] + "' in '" + norm + "' is not a directory");
    }
    dir = e->ino;
  }
  if (!created) {
    ASSIGN_OR_RETURN(uint64_t have, Capacity(norm));
    if (have == capacity) return Status::OK();
    return Status::AlreadyExists("directory " + norm + " exists with capacity " +
                                 std::to_string(have) + ", not " + std::to_string(capacity));
  }
  if (capacity == 0) return Status::OK();
  return meta::quota::Set(*meta_, norm, capacity, std::nullopt).status();
}

Result<uint64_t> VolumeDirs::Capacity(const std::string& path) {
  ASSIGN_OR_RETURN(std::string norm, NormalizeVolumePath(path));
  ASSIGN_OR_RETURN(meta::Ino dir, meta_->ResolveDir(norm));
  auto q = meta::quota::GetByIno(*meta_, dir);
  if (!q.ok()) {
    if (q.status().Is(Code::kNotFound)) return uint64_t{0};
    return q.status();
  }
  return q->record.max_bytes;
}

Status VolumeDirs::SetCapacity(const std::string& path, uint64_t capacity) {
  ASSIGN_OR_RETURN(std::string norm, NormalizeVolumePath(path));
  return meta::quota::Set(*meta_, norm, capacity, std::nullopt).status();
}

Status VolumeDirs::Remove(const std::string& path) {
  ASSIGN_OR_RETURN(std::string norm, NormalizeVolumePath(path));
  if (norm.empty()) return Status::InvalidArgument("refusing to remove the volume's root");
  const std::vector<std::string> parts = Split(norm);
  const size_t slash = norm.rfind('/');
  auto parent = meta_->ResolveDir(slash == std::string::npos ? "" : norm.substr(0, slash));
  if (!parent.ok()) return parent.status().Is(Code::kNotFound) ? Status::OK() : parent.status();
  const meta::Context root;
  auto e = meta_->Lookup(root, *parent, parts.back());
  if (!e.ok()) return e.status().Is(Code::kNotFound) ? Status::OK() : e.status();
  if (e->attr.type != meta::FileType::kDirectory) {
    return Status(Code::kNotDir, norm + " is not a directory");
  }
  RETURN_IF_ERROR(RemoveTree(e->ino));
  Status s = meta_->Rmdir(root, *parent, parts.back());
  return s.Is(Code::kNotFound) ? Status::OK() : s;
}

Status VolumeDirs::RemoveTree(meta::Ino dir) {
  const meta::Context root;
  // Each page is listed again from the start: entries removed from it are gone, so the next
  // page begins where the work is. Bounded by the number of entries.
  for (;;) {
    ASSIGN_OR_RETURN(auto page, meta_->Readdir(root, dir, "", 1000, false));
    if (page.entries.empty()) return Status::OK();
    for (const meta::DirEntry& e : page.entries) {
      Status s;
      if (e.type == meta::FileType::kDirectory) {
        RETURN_IF_ERROR(RemoveTree(e.ino));
        s = meta_->Rmdir(root, dir, e.name);
      } else {
        s = meta_->Unlink(root, dir, e.name);
      }
      if (!s.ok() && !s.Is(Code::kNotFound)) return s;
    }
  }
}

}  // namespace strata::csi

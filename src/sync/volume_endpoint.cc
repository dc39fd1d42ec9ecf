#include "sync/volume_endpoint.h"

#include <fcntl.h>

#include <algorithm>
#include <vector>

#include "common/uri.h"

namespace strata::sync {

namespace {

using meta::FileType;

int64_t Ns(const meta::Timespec& t) { return t.sec * 1000000000LL + t.nsec; }
meta::Timespec Ts(int64_t ns) {
  return meta::Timespec{ns / 1000000000, static_cast<uint32_t>(ns % 1000000000)};
}

std::string Strip(const std::string& p) {
  return !p.empty() && p.back() == '/' ? p.substr(0, p.size() - 1) : p;
}

Item FromAttr(const std::string& path, vfs::Ino ino, const meta::Attr& a) {
  Item it;
  it.path = path;
  switch (a.type) {
    case FileType::kDirectory:
      it.kind = Kind::kDir;
      break;
    case FileType::kRegular:
      it.kind = Kind::kFile;
      it.size = a.length;
      break;
    case FileType::kSymlink:
      it.kind = Kind::kSymlink;
      it.size = a.length;
      break;
    default:
      it.kind = Kind::kOther;
  }
  it.mtime_ns = Ns(a.mtime);
  it.atime_ns = Ns(a.atime);
  it.mode = a.mode;
  it.uid = a.uid;
  it.gid = a.gid;
  it.nlink = a.nlink;
  it.ino = ino;
  return it;
}

class VolumeReader : public FileReader {
 public:
  VolumeReader(vfs::Volume& v, vfs::Ino ino, uint64_t fh) : v_(v), ino_(ino), fh_(fh) {}
  ~VolumeReader() override { (void)v_.Release(ino_, fh_); }  // a read handle: nothing to lose
  Result<std::string> Read(uint64_t off, size_t len) override {
    std::string out;
    RETURN_IF_ERROR(v_.Read(vfs::Context{}, ino_, fh_, off, len, &out));
    return out;
  }

 private:
  vfs::Volume& v_;
  const vfs::Ino ino_;
  const uint64_t fh_;
};

class VolumeWriter : public FileWriter {
 public:
  VolumeWriter(vfs::Volume& v, vfs::Ino parent, std::string tmp, std::string name, vfs::Ino ino,
               uint64_t fh)
      : v_(v), parent_(parent), tmp_(std::move(tmp)), name_(std::move(name)), ino_(ino), fh_(fh) {}
  ~VolumeWriter() override {
    if (open_) (void)v_.Release(ino_, fh_);
    if (!done_) (void)v_.Unlink(vfs::Context{}, parent_, tmp_);  // nothing half-written stays
  }
  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ASSIGN_OR_RETURN(size_t n, v_.Write(vfs::Context{}, ino_, fh_, off_, data));
      if (n == 0) return Status::IOError("short write to " + name_);
      off_ += n;
      data.remove_prefix(n);
    }
    return Status::OK();
  }
  Status Commit() override {
    Status s = v_.Flush(vfs::Context{}, ino_, fh_, 0);
    Status r = v_.Release(ino_, fh_);
    open_ = false;
    RETURN_IF_ERROR(s);
    RETURN_IF_ERROR(r);
    Status m = v_.Rename(vfs::Context{}, parent_, tmp_, parent_, name_, 0);
    if (!m.ok()) return m.WithContext("renaming into " + name_);
    done_ = true;
    return Status::OK();
  }

 private:
  vfs::Volume& v_;
  const vfs::Ino parent_;
  const std::string tmp_, name_;
  const vfs::Ino ino_;
  const uint64_t fh_;
  uint64_t off_ = 0;
  bool open_ = true;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<VolumeEndpoint>> VolumeEndpoint::Open(const client::Registries& registries,
                                                             const std::string& meta_url,
                                                             const std::string& dir, bool write) {
  client::ClientOptions co;
  co.meta_url = meta_url;
  co.volume.read_only = !write;
  co.volume.mount_point = "strata sync";
  co.background_jobs = false;
  co.cache.memory_size = 0;  // each block is read once
  auto c = client::Client::Open(registries, co);
  if (!c.ok()) return c.status().WithContext("opening " + meta_url);
  std::string d;
  for (size_t pos = 0; pos <= dir.size();) {
    size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    std::string part = dir.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return Status::InvalidArgument("strata://" + dir + ": '..' is not allowed");
    d += (d.empty() ? "" : "/") + part;
  }
  auto uri = ParseUri(meta_url);
  std::string label = "strata:///" + d + " on " + (uri.ok() ? uri->Masked() : std::string("?"));
  return std::unique_ptr<VolumeEndpoint>(new VolumeEndpoint(std::move(*c), d, label));
}

VolumeEndpoint::VolumeEndpoint(std::unique_ptr<client::Client> c, std::string dir,
                               std::string label)
    : client_(std::move(c)),
      v_(client_->volume()),
      dir_(std::move(dir)),
      label_(std::move(label)),
      ctx_() {}

VolumeEndpoint::~VolumeEndpoint() = default;

std::string VolumeEndpoint::Describe() const { return label_; }

Result<vfs::Ino> VolumeEndpoint::Resolve(const std::string& rel) {
  std::string full = dir_;
  std::string r = Strip(rel);
  if (!r.empty()) full += (full.empty() ? "" : "/") + r;
  vfs::Ino cur = vfs::kRootIno;
  for (size_t pos = 0; pos < full.size();) {
    size_t slash = full.find('/', pos);
    if (slash == std::string::npos) slash = full.size();
    auto e = v_.Lookup(ctx_, cur, full.substr(pos, slash - pos));
    if (!e.ok()) return e.status().WithContext(full);
    cur = e->ino;
    pos = slash + 1;
  }
  return cur;
}

Result<vfs::Ino> VolumeEndpoint::Parent(const std::string& rel, bool create, std::string* name) {
  std::string r = Strip(rel);
  size_t slash = r.rfind('/');
  *name = slash == std::string::npos ? r : r.substr(slash + 1);
  std::string parent = slash == std::string::npos ? "" : r.substr(0, slash);
  auto p = Resolve(parent);
  if (p.ok() || !create || !p.status().Is(Code::kNotFound)) return p;
  // Create the missing directories from the top (dir_ itself included).
  std::string full = dir_ + (dir_.empty() || parent.empty() ? "" : "/") + parent;
  vfs::Ino cur = vfs::kRootIno;
  for (size_t pos = 0; pos < full.size();) {
    size_t s = full.find('/', pos);
    if (s == std::string::npos) s = full.size();
    std::string part = full.substr(pos, s - pos);
    pos = s + 1;
    auto e = v_.Lookup(ctx_, cur, part);
    if (e.ok()) {
      cur = e->ino;
      continue;
    }
    if (!e.status().Is(Code::kNotFound)) return e.status();
    auto m = v_.Mkdir(ctx_, cur, part, 0755);
    if (!m.ok() && m.status().Is(Code::kAlreadyExists)) m = v_.Lookup(ctx_, cur, part);
    if (!m.ok()) return m.status().WithContext("creating " + full);
    cur = m->ino;
  }
  return cur;
}

Status VolumeEndpoint::Walk(vfs::Ino dir, const std::string& rel,
                            const std::function<Status(const Item&)>& fn) {
  ASSIGN_OR_RETURN(uint64_t fh, v_.OpenDir(ctx_, dir));
  std::vector<Item> items;
  uint64_t off = 0;
  Status st;
  while (true) {
    auto page = v_.ReadDir(ctx_, dir, fh, off, vfs::Volume::kDirPage, /*plus=*/true);
    if (!page.ok()) {
      st = page.status();
      break;
    }
    if (page->empty()) break;
    for (auto& d : *page) {
      off = d.offset;
      if (d.name == "." || d.name == ".." || !d.attr) continue;
      if (rel.empty() && d.ino >= meta::kTrashIno) continue;  // the trash is not synced
      if (d.name.size() > 13 && d.name[0] == '.' &&
          d.name.compare(d.name.size() - 12, 12, ".strata-sync") == 0) {
        continue;
      }
      Item it = FromAttr(rel + d.name, d.ino, *d.attr);
      if (it.kind == Kind::kDir) it.path += "/";
      items.push_back(std::move(it));
    }
  }
  (void)v_.ReleaseDir(dir, fh);  // a directory handle holds nothing to flush
  RETURN_IF_ERROR(st);
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.path < b.path; });
  for (const auto& it : items) {
    RETURN_IF_ERROR(fn(it));
    if (it.kind == Kind::kDir) RETURN_IF_ERROR(Walk(it.ino, it.path, fn));
  }
  return Status::OK();
}

Status VolumeEndpoint::List(const std::function<Status(const Item&)>& fn) {
  auto root = Resolve("");
  if (!root.ok()) {
    if (root.status().Is(Code::kNotFound) && !v_.read_only()) return Status::OK();  // created later
    return root.status();
  }
  return Walk(*root, "", fn);
}

Result<std::unique_ptr<FileReader>> VolumeEndpoint::OpenRead(const Item& item) {
  ASSIGN_OR_RETURN(vfs::Ino ino, Resolve(item.path));
  ASSIGN_OR_RETURN(auto o, v_.OpenFile(ctx_, ino, O_RDONLY));
  return std::unique_ptr<FileReader>(new VolumeReader(v_, ino, o.fh));
}

Result<std::unique_ptr<FileWriter>> VolumeEndpoint::OpenWrite(const std::string& path,
                                                              const Item& src) {
  std::string name;
  ASSIGN_OR_RETURN(vfs::Ino parent, Parent(path, true, &name));
  std::string tmp = "." + name + ".strata-sync";
  if (tmp.size() > meta::kMaxNameLen) {
    tmp = ".x" + std::to_string(std::hash<std::string>()(path)) + ".strata-sync";
  }
  (void)v_.Unlink(ctx_, parent, tmp);  // a temporary left by an interrupted run, if any
  auto c = v_.Create(ctx_, parent, tmp, 0600, O_WRONLY | O_CREAT | O_EXCL);
  if (!c.ok()) return c.status().WithContext("creating " + path);
  return std::unique_ptr<FileWriter>(
      new VolumeWriter(v_, parent, tmp, name, c->entry.ino, c->open.fh));
}

Status VolumeEndpoint::RemoveName(vfs::Ino parent, const std::string& name) {
  auto e = v_.Lookup(ctx_, parent, name);
  if (!e.ok()) return e.status().Is(Code::kNotFound) ? Status::OK() : e.status();
  return e->attr.type == FileType::kDirectory ? v_.Rmdir(ctx_, parent, name)
                                              : v_.Unlink(ctx_, parent, name);
}

Status VolumeEndpoint::Delete(const std::string& path) {
  std::string name;
  auto parent = Parent(path, false, &name);
  if (!parent.ok()) return parent.status().Is(Code::kNotFound) ? Status::OK() : parent.status();
  Status s = RemoveName(*parent, name);
  return s.ok() ? s : s.WithContext("removing " + path);
}

Status VolumeEndpoint::MakeDir(const std::string& path) {
  std::string name;
  ASSIGN_OR_RETURN(vfs::Ino parent, Parent(path, true, &name));
  auto e = v_.Lookup(ctx_, parent, name);
  if (e.ok() && e->attr.type == FileType::kDirectory) return Status::OK();
  if (e.ok()) RETURN_IF_ERROR(v_.Unlink(ctx_, parent, name));
  auto m = v_.Mkdir(ctx_, parent, name, 0700);
  if (!m.ok() && !m.status().Is(Code::kAlreadyExists)) return m.status().WithContext(path);
  return Status::OK();
}

Result<std::string> VolumeEndpoint::ReadLink(const std::string& path) {
  ASSIGN_OR_RETURN(vfs::Ino ino, Resolve(path));
  return v_.ReadLink(ctx_, ino);
}

Status VolumeEndpoint::MakeSymlink(const std::string& path, const std::string& target) {
  std::string name;
  ASSIGN_OR_RETURN(vfs::Ino parent, Parent(path, true, &name));
  RETURN_IF_ERROR(RemoveName(parent, name));
  auto e = v_.Symlink(ctx_, parent, name, target);
  return e.ok() ? Status::OK() : e.status().WithContext(path);
}

Status VolumeEndpoint::MakeLink(const std::string& existing, const std::string& path) {
  ASSIGN_OR_RETURN(vfs::Ino ino, Resolve(existing));
  std::string name;
  ASSIGN_OR_RETURN(vfs::Ino parent, Parent(path, true, &name));
  RETURN_IF_ERROR(RemoveName(parent, name));
  auto e = v_.Link(ctx_, ino, parent, name);
  return e.ok() ? Status::OK() : e.status().WithContext(path);
}

Result<Item> VolumeEndpoint::Stat(const std::string& path) {
  ASSIGN_OR_RETURN(vfs::Ino ino, Resolve(path));
  ASSIGN_OR_RETURN(meta::Attr a, v_.GetAttr(ctx_, ino));
  return FromAttr(path, ino, a);
}

Result<std::map<std::string, std::string>> VolumeEndpoint::GetXattrs(const std::string& path) {
  ASSIGN_OR_RETURN(vfs::Ino ino, Resolve(path));
  ASSIGN_OR_RETURN(auto names, v_.ListXattr(ctx_, ino));
  std::map<std::string, std::string> out;
  for (const auto& n : names) {
    if (n.rfind("user.", 0) != 0 && n.rfind("trusted.", 0) != 0) continue;
    auto v = v_.GetXattr(ctx_, ino, n);
    if (!v.ok()) {
      if (v.status().Is(Code::kNotFound)) continue;  // removed meanwhile
      return v.status();
    }
    out.emplace(n, std::move(*v));
  }
  return out;
}

Status VolumeEndpoint::SetAttributes(const std::string& path, const Item& a,
                                     const std::map<std::string, std::string>& xattrs) {
  ASSIGN_OR_RETURN(vfs::Ino ino, Resolve(path));
  ASSIGN_OR_RETURN(auto have, GetXattrs(path));
  for (const auto& [name, value] : have) {
    if (xattrs.count(name) == 0) RETURN_IF_ERROR(v_.RemoveXattr(ctx_, ino, name));
  }
  for (const auto& [name, value] : xattrs) {
    auto it = have.find(name);
    if (it != have.end() && it->second == value) continue;
    RETURN_IF_ERROR(v_.SetXattr(ctx_, ino, name, value, 0));
  }
  // Owner first, mode after: a change of owner clears setuid/setgid, as chown(2) does.
  meta::SetAttrRequest req;
  req.mask = meta::kSetUid | meta::kSetGid | meta::kSetAtime | meta::kSetMtime;
  req.uid = a.uid;
  req.gid = a.gid;
  req.atime = Ts(a.atime_ns);
  req.mtime = Ts(a.mtime_ns);
  auto r = v_.SetAttr(ctx_, ino, req);
  if (r.ok() && a.kind != Kind::kSymlink && r->mode != a.mode) {
    meta::SetAttrRequest m;
    m.mask = meta::kSetMode;
    m.mode = a.mode;
    r = v_.SetAttr(ctx_, ino, m);
  }
  return r.ok() ? Status::OK() : r.status().WithContext("setting attributes of " + path);
}

}  // namespace strata::sync

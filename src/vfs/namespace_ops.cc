// Volume: namespace operations (lookup, attributes, create/remove/rename of names, statfs,
// fsyncdir). Each maps client inodes to volume inodes, calls Meta, and maps the result back;
// attrs go out as ShownAttr (volume_impl.h) shows them.
#include <fcntl.h>

#include "vfs/volume_impl.h"

namespace strata::vfs {

namespace {

// The errors a virtual file (virtual_files.h) gives to anything that would change it.
Status Permanent() { return Status(Code::kNotPermitted, "virtual files cannot be changed"); }
Status Taken(const std::string& name) { return Status::AlreadyExists(name); }

}  // namespace

Result<Entry> Volume::Lookup(const Context& ctx, Ino parent, const std::string& name) {
  if (auto v = VirtualFiles::Find(name); v && parent == kRootIno) {
    return Entry{*v, impl_->virt->GetAttr(*v)};
  }
  meta::Ino p = impl_->ToVol(parent);
  // ".." of the mounted root is the root itself: nothing above a subdir is reachable; under a
  // subdir, ".." of the trash leads back to the mounted root too.
  if (name == ".." && (p == impl_->root || (impl_->FiltersTrash() && p == meta::kTrashIno))) {
    ASSIGN_OR_RETURN(meta::Attr a, impl_->meta->GetAttr(impl_->root));
    return impl_->ClientEntry(meta::Entry{impl_->root, a});
  }
  if (impl_->FiltersTrash() && p == impl_->root && name == ".trash") {
    // The volume's trash, filtered to this subtree (see TrashEntryVisible).
    auto a = impl_->meta->GetAttr(meta::kTrashIno);
    if (!a.ok()) return a.status().Is(Code::kNotFound) ? Status::NotFound(".trash") : a.status();
    return impl_->ClientEntry(meta::Entry{meta::kTrashIno, *a});
  }
  if (Impl::IsTrashHour(p) && !impl_->TrashEntryVisible(name)) {
    return Status::NotFound(name);  // another subtree's deleted file
  }
  ASSIGN_OR_RETURN(meta::Entry e, impl_->meta->Lookup(ctx, p, name));
  Entry out = impl_->ClientEntry(e);
  out.attr = ShownAttr(out.attr);
  return out;
}

Result<Attr> Volume::GetAttr(const Context& ctx, Ino ino) {
  if (IsVirtualIno(ino)) return impl_->virt->GetAttr(ino);
  meta::Ino v = impl_->ToVol(ino);
  ASSIGN_OR_RETURN(meta::Attr a, impl_->meta->GetAttr(v));
  return ShownAttr(impl_->Overlay(v, a));
}

Result<Attr> Volume::GetAttrForKernel(const Context& ctx, Ino ino,
                                      std::chrono::nanoseconds max_age,
                                      std::chrono::nanoseconds* age) {
  *age = std::chrono::nanoseconds(0);
  if (!IsVirtualIno(ino)) {
    const meta::Ino v = impl_->ToVol(ino);
    if (auto hit = impl_->meta->CachedDirAttr(v, max_age)) {
      *age = hit->age;
      return ShownAttr(hit->attr);
    }
  }
  return GetAttr(ctx, ino);
}

// The kernel clears setuid/setgid after a write or truncate by sending a mode change with the
// writer's credentials; a writer who is not the owner may do exactly that (and nothing more).
Result<Attr> Volume::SetAttrKillPriv(const Context& ctx, meta::Ino v,
                                     const meta::SetAttrRequest& req) {
  auto r = impl_->meta->SetAttr(ctx, v, req);
  if (r.ok() || !(r.status().Is(Code::kNotPermitted) || r.status().Is(Code::kPermissionDenied)) ||
      !(req.mask & meta::kSetMode) || ctx.uid == 0) {
    return r;
  }
  ASSIGN_OR_RETURN(meta::Attr cur, impl_->meta->GetAttr(v));
  const uint32_t kill = 06000;
  bool only_clears = (req.mode & ~kill) == (cur.mode & ~kill) && (req.mode & kill) != (cur.mode & kill) &&
                     (req.mode & kill & ~cur.mode) == 0;
  if (!only_clears) return r;
  RETURN_IF_ERROR(impl_->meta->Access(ctx, v, 2 /* W_OK */));
  meta::SetAttrRequest mode_only;
  mode_only.mask = meta::kSetMode;
  mode_only.mode = req.mode;
  RETURN_IF_ERROR(impl_->meta->SetAttr(Context{}, v, mode_only).status());
  meta::SetAttrRequest rest = req;
  rest.mask &= ~static_cast<uint32_t>(meta::kSetMode);
  if (rest.mask == 0) return impl_->meta->GetAttr(v);
  return impl_->meta->SetAttr(ctx, v, rest);
}

Result<Attr> Volume::SetAttr(const Context& ctx, Ino ino, const meta::SetAttrRequest& req,
                             std::optional<uint64_t> fh) {
  if (IsVirtualIno(ino)) return Permanent();
  RETURN_IF_ERROR(impl_->CheckWritable());
  meta::Ino v = impl_->ToVol(ino);
  meta::SetAttrRequest rest = req;
  if (req.mask & meta::kSetSize) {
    // Pending slices must land before the truncate, or they would be committed on top of it.
    // Their errors stay for the open handles (errseq: a truncate neither reports nor eats them).
    impl_->chunks->Drain(v);
    std::shared_ptr<FileHandle> h = fh ? impl_->GetFile(*fh) : nullptr;
    if (h && h->ino == v && (h->flags & O_ACCMODE) != O_RDONLY) {
      // ftruncate on a descriptor open for writing: the open already checked access.
      meta::SetAttrRequest size_only;
      size_only.mask = meta::kSetSize;
      size_only.size = req.size;
      RETURN_IF_ERROR(impl_->meta->SetAttr(Context{}, v, size_only).status());
      rest.mask &= ~static_cast<uint32_t>(meta::kSetSize);
      impl_->chunks->InvalidateFile(v);
      impl_->SetKnownLength(v, req.size);
      if (rest.mask == 0) {
        ASSIGN_OR_RETURN(meta::Attr a, impl_->meta->GetAttr(v));
        return ShownAttr(impl_->Overlay(v, a));
      }
    }
  }
  ASSIGN_OR_RETURN(meta::Attr a, SetAttrKillPriv(ctx, v, rest));
  if (rest.mask & meta::kSetSize) {
    impl_->chunks->InvalidateFile(v);
    impl_->SetKnownLength(v, a.length);
  }
  return ShownAttr(impl_->Overlay(v, a));
}

Status Volume::Access(const Context& ctx, Ino ino, int mask) {
  if (IsVirtualIno(ino)) {
    meta::Attr a = impl_->virt->GetAttr(ino);
    bool readable = ctx.uid == 0 || (a.mode & 04) != 0;
    if ((mask & 3) || ((mask & 4) && !readable)) {  // W_OK=2, X_OK=1, R_OK=4
      return Status(Code::kPermissionDenied, "virtual file");
    }
    return Status::OK();
  }
  meta::Ino v = impl_->ToVol(ino);
  if ((mask & 2) && impl_->options.read_only) return Status(Code::kReadOnly, "read-only mount");
  return impl_->meta->Access(ctx, v, mask);
}

Result<Entry> Volume::Mknod(const Context& ctx, Ino parent, const std::string& name,
                            FileType type, uint32_t mode, uint32_t rdev) {
  if (VirtualFiles::Reserved(parent, name)) return Taken(name);
  RETURN_IF_ERROR(impl_->CheckWritable());
  ASSIGN_OR_RETURN(meta::Entry e,
                   impl_->meta->Mknod(ctx, impl_->ToVol(parent), name, type, mode, rdev));
  return impl_->ClientEntry(e);
}

Result<Entry> Volume::Mkdir(const Context& ctx, Ino parent, const std::string& name,
                            uint32_t mode) {
  if (VirtualFiles::Reserved(parent, name)) return Taken(name);
  RETURN_IF_ERROR(impl_->CheckWritable());
  ASSIGN_OR_RETURN(meta::Entry e, impl_->meta->Mkdir(ctx, impl_->ToVol(parent), name, mode));
  return impl_->ClientEntry(e);
}

Result<Entry> Volume::Symlink(const Context& ctx, Ino parent, const std::string& name,
                              const std::string& target) {
  if (VirtualFiles::Reserved(parent, name)) return Taken(name);
  RETURN_IF_ERROR(impl_->CheckWritable());
  ASSIGN_OR_RETURN(meta::Entry e,
                   impl_->meta->Symlink(ctx, impl_->ToVol(parent), name, target));
  return impl_->ClientEntry(e);
}

Result<std::string> Volume::ReadLink(const Context& ctx, Ino ino) {
  if (IsVirtualIno(ino)) return Status::InvalidArgument("not a symbolic link");
  return impl_->meta->ReadLink(impl_->ToVol(ino));
}

Result<Entry> Volume::Link(const Context& ctx, Ino ino, Ino new_parent,
                           const std::string& new_name) {
  if (IsVirtualIno(ino)) return Permanent();
  if (VirtualFiles::Reserved(new_parent, new_name)) return Taken(new_name);
  RETURN_IF_ERROR(impl_->CheckWritable());
  ASSIGN_OR_RETURN(meta::Entry e, impl_->meta->Link(ctx, impl_->ToVol(ino),
                                                    impl_->ToVol(new_parent), new_name));
  return impl_->ClientEntry(e);
}

Status Volume::Unlink(const Context& ctx, Ino parent, const std::string& name) {
  if (VirtualFiles::Reserved(parent, name)) return Permanent();
  RETURN_IF_ERROR(impl_->CheckWritable());
  return impl_->meta->Unlink(ctx, impl_->ToVol(parent), name);
}

Status Volume::Rmdir(const Context& ctx, Ino parent, const std::string& name) {
  if (VirtualFiles::Reserved(parent, name)) return Status(Code::kNotDir, name);
  RETURN_IF_ERROR(impl_->CheckWritable());
  return impl_->meta->Rmdir(ctx, impl_->ToVol(parent), name);
}

Status Volume::Rename(const Context& ctx, Ino parent, const std::string& name, Ino new_parent,
                      const std::string& new_name, uint32_t flags) {
  if (VirtualFiles::Reserved(parent, name) || VirtualFiles::Reserved(new_parent, new_name)) {
    return Permanent();
  }
  RETURN_IF_ERROR(impl_->CheckWritable());
  return impl_->meta->Rename(ctx, impl_->ToVol(parent), name, impl_->ToVol(new_parent),
                             new_name, flags);
}

Status Volume::FsyncDir(const Context& ctx, Ino ino, uint64_t fh, bool datasync) {
  if (!impl_->GetDir(fh)) return Status(Code::kBadHandle, "unknown directory handle");
  // Each namespace operation is one committed transaction already (DESIGN.md §5); nothing is
  // buffered per directory. What may be missing is the engine's own flush to disk.
  return impl_->engine->Sync();
}

Result<meta::StatFs> Volume::StatFs(const Context& ctx, Ino ino) {
  if (IsVirtualIno(ino)) ino = kRootIno;
  return impl_->meta->GetStatFs(ctx, impl_->ToVol(ino));
}

}  // namespace strata::vfs

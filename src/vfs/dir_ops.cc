// Volume: directory handles. Offsets are positions in the handle's list ("." = item 0,
// ".." = item 1, entries from 2), so telldir/seekdir cookies stay valid for the handle's life;
// entries are loaded from Meta a page at a time as the caller advances.
#include <fcntl.h>

#include "vfs/volume_impl.h"

namespace strata::vfs {
namespace {
constexpr size_t kPage = 1000;  // entries per Meta::Readdir call
}  // namespace

Result<uint64_t> Volume::OpenDir(const Context& ctx, Ino ino) {
  meta::Ino v = impl_->ToVol(ino);
  ASSIGN_OR_RETURN(meta::Attr a, impl_->meta->GetAttr(v));
  if (a.type != meta::FileType::kDirectory) return Status(Code::kNotDir, "not a directory");
  RETURN_IF_ERROR(impl_->meta->Access(ctx, v, 4 /* R_OK */));
  auto h = std::make_shared<DirHandle>();
  h->ino = v;
  return impl_->AddDir(std::move(h));
}

Result<std::vector<DirItem>> Volume::ReadDir(const Context& ctx, Ino ino, uint64_t fh,
                                             uint64_t offset, size_t max_items, bool plus) {
  auto h = impl_->GetDir(fh);
  if (!h) return Status(Code::kBadHandle, "unknown directory handle");
  std::lock_guard<std::mutex> l(h->mu);
  if (offset == 0) {
    // rewinddir: start over and see the directory as it is now.
    h->entries.clear();
    h->next_cursor.clear();
    h->eof = false;
    h->plus = plus;
  }
  if (!h->loaded_dots) {
    if (h->ino == impl_->root) {
      h->dotdot = h->ino;
    } else {
      ASSIGN_OR_RETURN(meta::Entry up, impl_->meta->Lookup(ctx, h->ino, ".."));
      h->dotdot = up.ino;
    }
    h->loaded_dots = true;
  }
  std::vector<DirItem> out;
  uint64_t idx = offset;
  while (out.size() < max_items) {
    if (idx < 2) {
      DirItem d;
      d.name = idx == 0 ? "." : "..";
      meta::Ino target = idx == 0 ? h->ino : h->dotdot;
      d.ino = impl_->ToClient(target);
      d.type = FileType::kDirectory;
      if (plus) {
        auto a = impl_->meta->GetAttr(target);
        if (a.ok()) d.attr = *a;
      }
      d.offset = idx + 1;
      out.push_back(std::move(d));
      ++idx;
      continue;
    }
    size_t e = idx - 2;
    if (e >= h->entries.size()) {
      if (h->eof) break;
      ASSIGN_OR_RETURN(meta::ReaddirPage page,
                       impl_->meta->Readdir(ctx, h->ino, h->next_cursor, kPage, h->plus));
      for (auto& de : page.entries) h->entries.push_back(std::move(de));
      h->next_cursor = page.next_cursor;
      h->eof = page.eof || page.entries.empty();
      continue;
    }
    const meta::DirEntry& de = h->entries[e];
    DirItem d;
    d.name = de.name;
    d.ino = impl_->ToClient(de.ino);
    d.type = de.type;
    if (plus) {
      // Pages loaded by a plain readdir carry no attributes (the kernel may switch).
      std::optional<meta::Attr> a = de.attr;
      if (!a) {
        auto got = impl_->meta->GetAttr(de.ino);
        if (got.ok()) a = *got;
      }
      if (a) d.attr = impl_->Overlay(de.ino, *a);
    }
    d.offset = idx + 1;
    out.push_back(std::move(d));
    ++idx;
  }
  return out;
}

Status Volume::ReleaseDir(Ino ino, uint64_t fh) {
  std::lock_guard<std::mutex> l(impl_->handles_mu);
  if (impl_->dirs.erase(fh) == 0) return Status(Code::kBadHandle, "unknown directory handle");
  return Status::OK();
}

}  // namespace strata::vfs

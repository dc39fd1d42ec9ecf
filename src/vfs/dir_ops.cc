// Volume: directory handles. Each item of a handle's listing has a sequence number ("." = 1,
// ".." = 2, entries from 3 in name order) and that number is the offset handed back with it,
// so a telldir/seekdir cookie or the kernel's resume offset names "continue after item s".
// The handle holds only a window of entries (DirHandle in volume_impl.h) and continues with
// Meta::Readdir's name cursor, so a listing of millions of entries needs about two pages of
// memory, and concurrent creates/unlinks neither duplicate nor skip entries.
//
// Window upkeep when the next item lies past the window: the entries this call has already
// returned stay (the caller may have consumed only some and resume inside them; a kernel reply
// often straddles a page boundary), everything before them is dropped, and the next page is
// appended. A call returns at most kDirPage items, so the window never exceeds 2 * kDirPage.
#include <algorithm>
#include <functional>

#include "vfs/volume_impl.h"

namespace strata::vfs {
namespace {

// Back to the beginning of the listing (rewinddir, or a seek before the window).
void Restart(DirHandle& h) {
  h.first_seq = 3;
  h.window.clear();
  h.window.shrink_to_fit();
  h.next_cursor.clear();
  h.eof = false;
}

// Makes room and appends the next page. Entries with sequence numbers >= keep_from stay.
Status FetchNextPage(meta::Meta& meta, const Context& ctx, DirHandle& h, uint64_t keep_from,
                     bool plus, const std::function<bool(const std::string&)>& visible) {
  uint64_t end = h.first_seq + h.window.size();
  keep_from = std::clamp<uint64_t>(keep_from, h.first_seq, end);
  h.window.erase(h.window.begin(), h.window.begin() + (keep_from - h.first_seq));
  h.first_seq = keep_from;
  ASSIGN_OR_RETURN(meta::ReaddirPage page,
                   meta.Readdir(ctx, h.ino, h.next_cursor, Volume::kDirPage, plus));
  if (visible) {  // a filtered view (the trash under a subdir): drop what it must not show
    std::erase_if(page.entries, [&](const meta::DirEntry& e) { return !visible(e.name); });
  }
  ++h.pages;
  // An empty page that is not the end (plus drops entries that vanished mid-page) still moves
  // the cursor; one that does not move it would loop forever, so it ends the listing.
  bool stuck = page.entries.empty() && page.next_cursor == h.next_cursor;
  for (auto& e : page.entries) h.window.push_back(std::move(e));
  h.next_cursor = std::move(page.next_cursor);
  h.eof = page.eof || stuck;
  h.max_window = std::max(h.max_window, h.window.size());
  return Status::OK();
}

}  // namespace

Result<uint64_t> Volume::OpenDir(const Context& ctx, Ino ino) {
  if (IsVirtualIno(ino)) return Status(Code::kNotDir, "not a directory");
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
    // rewinddir: start over and see the directory as it is now (its parent too).
    Restart(*h);
    h->loaded_dots = false;
  }
  if (!h->loaded_dots) {
    if (h->ino == impl_->root || (impl_->FiltersTrash() && h->ino == meta::kTrashIno)) {
      h->dotdot = impl_->root;
    } else {
      ASSIGN_OR_RETURN(meta::Entry up, impl_->meta->Lookup(ctx, h->ino, ".."));
      h->dotdot = up.ino;
    }
    h->loaded_dots = true;
  }
  max_items = std::min(max_items, kDirPage);
  std::vector<DirItem> out;
  uint64_t seq = offset + 1;  // the next item to return
  for (; seq <= 2 && out.size() < max_items; ++seq) {
    DirItem d;
    d.name = seq == 1 ? "." : "..";
    meta::Ino target = seq == 1 ? h->ino : h->dotdot;
    d.ino = impl_->ToClient(target);
    d.type = FileType::kDirectory;
    if (plus) {
      auto a = impl_->meta->GetAttr(target);
      if (a.ok()) d.attr = *a;
    }
    d.offset = seq;
    out.push_back(std::move(d));
  }
  while (out.size() < max_items) {
    if (seq < h->first_seq) Restart(*h);  // seekdir far back: list again and skip forward
    if (seq >= h->first_seq + h->window.size()) {
      if (h->eof) break;
      std::function<bool(const std::string&)> visible;
      if (impl_->FiltersTrash() && Impl::IsTrashHour(h->ino)) {
        visible = [this](const std::string& n) { return impl_->TrashEntryVisible(n); };
      }
      RETURN_IF_ERROR(FetchNextPage(*impl_->meta, ctx, *h, offset + 1, plus, visible));
      continue;
    }
    const meta::DirEntry& de = h->window[seq - h->first_seq];
    DirItem d;
    d.name = de.name;
    d.ino = impl_->ToClient(de.ino);
    d.type = de.type;
    if (plus) {
      // A window loaded by a plain readdir carries no attributes (the kernel may switch).
      std::optional<meta::Attr> a = de.attr;
      if (!a) {
        auto got = impl_->meta->GetAttr(de.ino);
        if (got.ok()) a = *got;
      }
      if (a) d.attr = impl_->Overlay(de.ino, *a);
    }
    d.offset = seq;
    out.push_back(std::move(d));
    ++seq;
  }
  return out;
}

Status Volume::ReleaseDir(Ino ino, uint64_t fh) {
  std::lock_guard<std::mutex> l(impl_->handles_mu);
  if (impl_->dirs.erase(fh) == 0) return Status(Code::kBadHandle, "unknown directory handle");
  return Status::OK();
}

Result<Volume::DirStats> Volume::GetDirStats(uint64_t fh) {
  auto h = impl_->GetDir(fh);
  if (!h) return Status(Code::kBadHandle, "unknown directory handle");
  std::lock_guard<std::mutex> l(h->mu);
  return DirStats{h->window.size(), h->max_window, h->pages};
}

}  // namespace strata::vfs

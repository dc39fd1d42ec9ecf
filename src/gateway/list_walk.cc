// The listing walk (listing.h).
#include <algorithm>

#include "gateway/listing.h"

namespace strata::gateway {
namespace {

bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

class Walker {
 public:
  Walker(ObjectFs& fs, const ListQuery& q, const std::function<bool(const std::string&)>& visible)
      : fs_(fs), q_(q), visible_(visible) {}

  Status Walk(Ino dir, const std::string& path) {
    ASSIGN_OR_RETURN(auto items, fs_.ReadWholeDir(dir));
    struct Child {
      std::string full;  // the key, or the directory's path with its '/'
      bool is_dir;
      const vfs::DirItem* item;
    };
    std::vector<Child> children;
    children.reserve(items.size());
    for (const auto& item : items) {
      bool is_dir = item.type == meta::FileType::kDirectory;
      if (!is_dir && item.type != meta::FileType::kRegular) continue;  // symlinks, devices
      children.push_back(Child{path + item.name + (is_dir ? "/" : ""), is_dir, &item});
    }
    std::sort(children.begin(), children.end(),
              [](const Child& a, const Child& b) { return a.full < b.full; });
    for (const Child& c : children) {
      if (done_) return Status::OK();
      const bool in_prefix = StartsWith(c.full, q_.prefix);
      if (!in_prefix && !(c.is_dir && StartsWith(q_.prefix, c.full))) continue;
      if (in_prefix && !q_.delimiter.empty()) {
        size_t pos = c.full.find(q_.delimiter, q_.prefix.size());
        if (pos != std::string::npos) {
          Emit(c.full.substr(0, pos + q_.delimiter.size()), nullptr);
          continue;
        }
      }
      if (c.is_dir) {
        // Every key below starts with c.full: all before the marker when the marker is
        // greater and does not lie inside.
        if (!q_.after.empty() && q_.after > c.full && !StartsWith(q_.after, c.full)) continue;
        RETURN_IF_ERROR(Walk(c.item->ino, c.full));
      } else {
        Emit(c.full, c.item);
      }
    }
    return Status::OK();
  }

  ListPage page;

 private:
  void Emit(const std::string& key, const vfs::DirItem* object) {
    if (key <= q_.after) return;
    if (!object && !page.prefixes.empty() && page.prefixes.back() == key) return;
    if (visible_ && !visible_(key)) return;
    if (page.objects.size() + page.prefixes.size() >= q_.max_keys) {
      page.truncated = true;
      done_ = true;
      return;
    }
    if (object) {
      page.objects.push_back(ListedObject{key, object->ino, object->attr.value_or(Attr{})});
    } else {
      page.prefixes.push_back(key);
    }
    page.last = key;
  }

  ObjectFs& fs_;
  const ListQuery& q_;
  const std::function<bool(const std::string&)>& visible_;
  bool done_ = false;
};

}  // namespace

Result<ListPage> ListKeys(ObjectFs& fs, Ino bucket, const ListQuery& q,
                          const std::function<bool(const std::string&)>& visible) {
  if (q.max_keys == 0) return ListPage{};
  // Start in the deepest directory the prefix names completely ("a/b/c" -> "a/b/").
  std::vector<std::string> dirs;
  std::string path;
  size_t pos = 0;
  while (true) {
    size_t slash = q.prefix.find('/', pos);
    if (slash == std::string::npos) break;
    dirs.push_back(q.prefix.substr(pos, slash - pos));
    pos = slash + 1;
  }
  path = q.prefix.substr(0, pos);
  auto start = fs.LookupDir(bucket, dirs);
  if (!start.ok()) {
    if (start.status().Is(Code::kNotFound) || start.status().Is(Code::kNotDir)) return ListPage{};
    return start.status();
  }
  Walker w(fs, q, visible);
  RETURN_IF_ERROR(w.Walk(*start, path));
  return std::move(w.page);
}

}  // namespace strata::gateway

#include "sync/sync.h"

#include <fnmatch.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/thread_pool.h"

namespace strata::sync {

namespace {

constexpr size_t kPiece = 4 << 20;

std::string Strip(const std::string& p) {
  return !p.empty() && p.back() == '/' ? p.substr(0, p.size() - 1) : p;
}

bool Match(const std::string& pattern, const std::string& path) {
  const std::string p = Strip(path);
  if (pattern.find('/') != std::string::npos) {
    for (size_t i = 0; i <= p.size(); i++) {
      if (i == p.size() || p[i] == '/') {
        if (fnmatch(pattern.c_str(), p.substr(0, i).c_str(), 0) == 0) return true;
      }
    }
    return false;
  }
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    if (slash == std::string::npos) slash = p.size();
    if (fnmatch(pattern.c_str(), p.substr(start, slash - start).c_str(), 0) == 0) return true;
    start = slash + 1;
  }
  return false;
}

// The destination's listing, read ahead by its own thread (bounded).
class Lister {
 public:
  explicit Lister(Endpoint& ep) : thread_([this, &ep] { Produce(ep); }) {}
  ~Lister() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // The next item, nullopt at the end (then status() says whether the listing completed).
  std::optional<Item>* Peek() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !q_.empty() || done_; });
    if (q_.empty()) return &end_;
    return &q_.front();
  }
  void Pop() {
    std::lock_guard<std::mutex> l(mu_);
    q_.pop_front();
    cv_.notify_all();
  }
  Status status() {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }

 private:
  void Produce(Endpoint& ep) {
    Status s = ep.List([&](const Item& it) -> Status {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return q_.size() < 4096 || stop_; });
      if (stop_) return Status(Code::kCancelled, "stopped");
      q_.emplace_back(it);
      cv_.notify_all();
      return Status::OK();
    });
    std::lock_guard<std::mutex> l(mu_);
    status_ = s;
    done_ = true;
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::optional<Item>> q_;
  std::optional<Item> end_;
  bool done_ = false, stop_ = false;
  Status status_;
  std::thread thread_;
};

class SyncRun {
 public:
  SyncRun(Endpoint& src, Endpoint& dst, const SyncOptions& o, SyncStats* st, Progress* p)
      : src_(src),
        dst_(dst),
        o_(o),
        st_(*st),
        attrs_(o.attributes && src.has_attributes() && dst.has_attributes()) {
    if (p != nullptr) {
      c_scanned_ = p->AddCounter("scanned");
      c_copied_ = p->AddCounter("copied");
      c_bytes_ = p->AddCounter("bytes", Progress::Unit::kBytes);
      c_failed_ = p->AddCounter("failed");
    }
  }

  Status Run() {
    ASSIGN_OR_RETURN(pool_, NewPool());
    Status listing;
    {
      Lister dst(dst_);
      listing = src_.List([&](const Item& s) -> Status {
        st_.scanned++;
        Bump(c_scanned_, 1);
        if (!Selected(o_, s.path)) return Status::OK();
        while (true) {
          std::optional<Item>* d = dst.Peek();
          if (!d->has_value() || (*d)->path >= s.path) break;
          DstOnly(**d);
          dst.Pop();
        }
        std::optional<Item>* d = dst.Peek();
        if (d->has_value() && (*d)->path == s.path) {
          Item di = **d;
          dst.Pop();
          Both(s, di);
        } else {
          SrcOnly(s);
        }
        return Status::OK();
      });
      if (listing.ok()) {
        for (std::optional<Item>* d = dst.Peek(); d->has_value(); d = dst.Peek()) {
          DstOnly(**d);
          dst.Pop();
        }
        listing = dst.status().WithContext("listing " + dst_.Describe());
        if (dst.status().ok()) listing = Status::OK();
      } else {
        listing = listing.WithContext("listing " + src_.Describe());
      }
    }
    pool_->Shutdown();  // every copy and deletion done
    if (!links_.empty()) {
      ASSIGN_OR_RETURN(pool_, NewPool());
      for (auto& l : links_) Submit([this, l] { Link(l.first, l.second); });
      pool_->Shutdown();
    }
    // Directories: removals deepest first, then attributes deepest first (children changed
    // their mtimes).
    for (auto it = dirs_to_delete_.rbegin(); it != dirs_to_delete_.rend(); ++it) {
      Do(
          "delete", *it, [&] { return dst_.Delete(*it); }, &st_.deleted);
    }
    if (attrs_) {
      for (auto it = dir_attrs_.rbegin(); it != dir_attrs_.rend(); ++it) {
        const Item& s = *it;
        Do(
            "set attributes of", s.path, [&] { return CopyAttributes(s); }, nullptr);
      }
    }
    return listing;
  }

 private:
  Result<std::unique_ptr<ThreadPool>> NewPool() {
    ThreadPoolOptions po;
    po.name = "sync";
    po.threads = o_.threads;
    po.queue_capacity = static_cast<size_t>(o_.threads) * 4;
    return ThreadPool::Open(po);
  }
  static void Bump(Progress::Counter* c, uint64_t n) {
    if (c != nullptr) c->Add(n);
  }
  void Submit(std::function<void()> task) {
    if (!pool_->Submit(task).ok()) task();  // the pool is ours and never shut down early
  }

  // Runs fn (unless dry-run: prints the action), counting the outcome.
  void Do(const char* what, const std::string& path, const std::function<Status()>& fn,
          std::atomic<uint64_t>* counter) {
    if (o_.dry_run) {
      std::printf("%s %s\n", what, path.c_str());
      if (counter != nullptr) (*counter)++;
      return;
    }
    Status s = fn();
    if (s.ok()) {
      if (counter != nullptr) (*counter)++;
      if (counter == &st_.copied) Bump(c_copied_, 1);
      return;
    }
    st_.failed++;
    Bump(c_failed_, 1);
    std::string m = s.ToString();
    for (char& c : m) {
      if (c == '\n') c = ' ';
    }
    std::fprintf(stderr, "strata sync: failed to %s %s: %s\n", what, path.c_str(), m.c_str());
  }

  Status CopyAttributes(const Item& s) {
    ASSIGN_OR_RETURN(auto x, src_.GetXattrs(s.path));
    return dst_.SetAttributes(s.path, s, x);
  }

  Status CopyFile(const Item& s) {
    ASSIGN_OR_RETURN(auto r, src_.OpenRead(s));
    ASSIGN_OR_RETURN(auto w, dst_.OpenWrite(s.path, s));
    uint64_t off = 0;
    while (true) {
      ASSIGN_OR_RETURN(std::string piece, r->Read(off, kPiece));
      if (piece.empty()) break;
      RETURN_IF_ERROR(w->Append(piece));
      off += piece.size();
      st_.bytes += piece.size();
      Bump(c_bytes_, piece.size());
      if (piece.size() < kPiece) break;
    }
    RETURN_IF_ERROR(w->Commit());
    return attrs_ ? CopyAttributes(s) : Status::OK();
  }

  Status CopySymlink(const Item& s) {
    ASSIGN_OR_RETURN(std::string target, src_.ReadLink(s.path));
    RETURN_IF_ERROR(dst_.MakeSymlink(s.path, target));
    return CopyAttributes(s);
  }

  // Copies a non-directory item (on a worker).
  void Copy(const Item& s) {
    if (s.kind == Kind::kSymlink) {
      Submit([this, s] {
        Do(
            "copy", s.path, [&] { return CopySymlink(s); }, &st_.copied);
      });
    } else {
      Submit([this, s] {
        Do(
            "copy", s.path, [&] { return CopyFile(s); }, &st_.copied);
      });
    }
  }

  // Whether the item can exist on the destination at all.
  bool Representable(const Item& s) {
    if (s.kind == Kind::kOther) return false;  // fifos, devices, sockets
    if (!dst_.has_attributes() && s.kind != Kind::kFile) return s.kind == Kind::kDir;
    return true;
  }

  // A second link of a source inode already seen: link after the copies instead.
  bool DeferLink(const Item& s) {
    if (!attrs_ || s.kind != Kind::kFile || s.nlink < 2) return false;
    auto [it, inserted] = first_link_.try_emplace(s.ino, s.path);
    if (inserted) return false;
    links_.emplace_back(it->second, s.path);
    return true;
  }

  void Link(const std::string& first, const std::string& path) {
    if (!o_.dry_run) {
      auto a = dst_.Stat(first);
      auto b = dst_.Stat(path);
      if (a.ok() && b.ok() && a->ino == b->ino) {
        st_.skipped++;
        return;
      }
    }
    Do(
        "link", path, [&] { return dst_.MakeLink(first, path); }, &st_.linked);
  }

  void SrcOnly(const Item& s) {
    if (!Representable(s)) {
      st_.skipped++;
      return;
    }
    if (s.kind == Kind::kDir) {
      if (dst_.has_attributes()) {
        Do(
            "make directory", s.path, [&] { return dst_.MakeDir(s.path); }, &st_.copied);
        if (attrs_) dir_attrs_.push_back(s);
      }
      return;
    }
    if (DeferLink(s)) return;
    Copy(s);
  }

  void DstOnly(const Item& d) {
    if (!o_.delete_dst || !Selected(o_, d.path)) return;
    if (d.kind == Kind::kDir) {
      // A source without directories (an object store) implies them: keep the destination's.
      if (src_.has_attributes()) dirs_to_delete_.push_back(d.path);
      return;
    }
    Submit([this, d] {
      Do(
          "delete", d.path, [&] { return dst_.Delete(d.path); }, &st_.deleted);
    });
  }

  bool DataDiffers(const Item& s, const Item& d) const {
    if (s.size != d.size) return true;
    if (o_.update) return s.mtime_ns > d.mtime_ns;
    if (o_.check_all) return false;  // decided by the contents, on a worker
    return attrs_ && s.mtime_ns != d.mtime_ns;
  }

  static bool AttrsDiffer(const Item& s, const Item& d) {
    return (s.kind != Kind::kSymlink && s.mode != d.mode) || s.uid != d.uid || s.gid != d.gid ||
           s.mtime_ns != d.mtime_ns;
  }

  Result<bool> SameContents(const Item& s, const Item& d) {
    ASSIGN_OR_RETURN(auto a, src_.OpenRead(s));
    ASSIGN_OR_RETURN(auto b, dst_.OpenRead(d));
    for (uint64_t off = 0;; off += kPiece) {
      ASSIGN_OR_RETURN(std::string x, a->Read(off, kPiece));
      ASSIGN_OR_RETURN(std::string y, b->Read(off, kPiece));
      if (x != y) return false;
      if (x.size() < kPiece) return true;
    }
  }

  // Same data: fix attributes (mode, owner, mtime, xattrs) when they differ.
  Status FixAttributes(const Item& s, const Item& d, bool* changed) {
    *changed = false;
    ASSIGN_OR_RETURN(auto xs, src_.GetXattrs(s.path));
    ASSIGN_OR_RETURN(auto xd, dst_.GetXattrs(d.path));
    if (!AttrsDiffer(s, d) && xs == xd) return Status::OK();
    *changed = true;
    if (o_.dry_run) return Status::OK();
    return dst_.SetAttributes(s.path, s, xs);
  }

  void Both(const Item& s, const Item& d) {
    if (!Representable(s)) {
      st_.skipped++;
      return;
    }
    if (s.kind == Kind::kDir) {
      if (attrs_) dir_attrs_.push_back(s);
      if (d.kind != Kind::kDir) SrcOnly(s);
      return;
    }
    if (DeferLink(s)) return;
    if (s.kind != d.kind || DataDiffers(s, d)) {
      Copy(s);
      return;
    }
    Submit([this, s, d] {
      if (o_.check_all && s.kind == Kind::kFile) {
        auto same = SameContents(s, d);
        if (!same.ok() || !*same) {
          Do(
              "copy", s.path, [&] { return CopyFile(s); }, &st_.copied);
          return;
        }
      }
      if (s.kind == Kind::kSymlink) {
        auto a = src_.ReadLink(s.path);
        auto b = dst_.ReadLink(d.path);
        if (!a.ok() || !b.ok() || *a != *b) {
          Do(
              "copy", s.path, [&] { return CopySymlink(s); }, &st_.copied);
          return;
        }
      }
      if (!attrs_) {
        st_.skipped++;
        return;
      }
      bool changed = false;
      Status fs = FixAttributes(s, d, &changed);
      if (!fs.ok()) {
        Do(
            "set attributes of", s.path, [&] { return fs; }, nullptr);
      } else if (changed) {
        Do(
            "set attributes of", s.path, [] { return Status::OK(); }, &st_.attrs);
      } else {
        st_.skipped++;
      }
    });
  }

  Endpoint& src_;
  Endpoint& dst_;
  const SyncOptions& o_;
  SyncStats& st_;
  const bool attrs_;
  std::unique_ptr<ThreadPool> pool_;
  std::unordered_map<uint64_t, std::string> first_link_;    // source inode -> first path
  std::vector<std::pair<std::string, std::string>> links_;  // (first, other) on the destination
  std::vector<std::string> dirs_to_delete_;                 // in listing order
  std::vector<Item> dir_attrs_;                             // in listing order
  Progress::Counter* c_scanned_ = nullptr;
  Progress::Counter* c_copied_ = nullptr;
  Progress::Counter* c_bytes_ = nullptr;
  Progress::Counter* c_failed_ = nullptr;
};

}  // namespace

Status SyncOptions::Validate() const {
  if (threads < 1 || threads > 256) return Status::InvalidArgument("--threads must be 1..256");
  if (update && check_all) {
    return Status::InvalidArgument("--update and --check-all exclude each other");
  }
  return Status::OK();
}

bool Selected(const SyncOptions& o, const std::string& path) {
  bool excluded = false;
  for (const auto& p : o.exclude) {
    if (Match(p, path)) {
      excluded = true;
      break;
    }
  }
  if (!excluded) return true;
  for (const auto& p : o.include) {
    if (Match(p, path)) return true;
  }
  return false;
}

Status Run(Endpoint& src, Endpoint& dst, const SyncOptions& options, SyncStats* stats,
           Progress* progress) {
  RETURN_IF_ERROR(options.Validate());
  return SyncRun(src, dst, options, stats, progress).Run();
}

}  // namespace strata::sync

#include "sync/object_endpoint.h"

#include <vector>

namespace strata::sync {

namespace {

constexpr size_t kSinglePutMax = 64 << 20;
constexpr size_t kPartSize = 16 << 20;

class ObjectReader : public FileReader {
 public:
  ObjectReader(object::ObjectStore& store, std::string key) : store_(store), key_(std::move(key)) {}
  Result<std::string> Read(uint64_t off, size_t len) override {
    auto r = store_.Get(key_, off, static_cast<int64_t>(len));
    if (!r.ok()) return r.status().WithContext("reading " + key_);
    return r;
  }

 private:
  object::ObjectStore& store_;
  const std::string key_;
};

class ObjectWriter : public FileWriter {
 public:
  ObjectWriter(object::ObjectStore& store, std::string key, bool multipart)
      : store_(store), key_(std::move(key)), multipart_(multipart) {}
  ~ObjectWriter() override {
    if (!upload_.empty() && !done_) {
      // Deliberately dropped: an abort that fails leaves an upload only the store can expire.
      (void)store_.AbortMultipart(key_, upload_);
    }
  }
  Status Append(std::string_view data) override {
    buf_.append(data);
    if (multipart_ && buf_.size() >= kPartSize) return SendPart();
    return Status::OK();
  }
  Status Commit() override {
    if (!multipart_) {
      Status s = store_.Put(key_, buf_);
      done_ = s.ok();
      return s.ok() ? s : s.WithContext("writing " + key_);
    }
    if (!buf_.empty() || parts_.empty()) RETURN_IF_ERROR(SendPart());
    Status s = store_.CompleteMultipart(key_, upload_, parts_);
    done_ = s.ok();
    return s.ok() ? s : s.WithContext("completing " + key_);
  }

 private:
  Status SendPart() {
    if (upload_.empty()) {
      auto id = store_.CreateMultipart(key_);
      if (!id.ok()) return id.status().WithContext("starting an upload of " + key_);
      upload_ = *id;
    }
    const int n = static_cast<int>(parts_.size()) + 1;
    auto etag = store_.UploadPart(key_, upload_, n, buf_);
    if (!etag.ok()) return etag.status().WithContext("uploading part of " + key_);
    parts_.push_back(object::PartInfo{n, *etag, buf_.size()});
    buf_.clear();
    return Status::OK();
  }

  object::ObjectStore& store_;
  const std::string key_;
  const bool multipart_;
  std::string buf_;
  std::string upload_;
  std::vector<object::PartInfo> parts_;
  bool done_ = false;
};

}  // namespace

Status ObjectEndpoint::List(const std::function<Status(const Item&)>& fn) {
  object::ListOptions lo;
  lo.limit = 1000;
  while (true) {
    auto page = store_->List(lo);
    if (!page.ok()) return page.status().WithContext("listing " + Describe());
    for (const auto& o : page->objects) {
      if (o.key.empty() || o.key.back() == '/') continue;
      Item it;
      it.path = o.key;
      it.size = o.size;
      it.mtime_ns = o.mtime_ns;
      RETURN_IF_ERROR(fn(it));
    }
    if (!page->truncated || page->objects.empty()) return Status::OK();
    lo.continuation = page->next_continuation;
    lo.start_after = page->objects.back().key;
  }
}

Result<std::unique_ptr<FileReader>> ObjectEndpoint::OpenRead(const Item& item) {
  return std::unique_ptr<FileReader>(new ObjectReader(*store_, item.path));
}

Result<std::unique_ptr<FileWriter>> ObjectEndpoint::OpenWrite(const std::string& path,
                                                              const Item& src) {
  return std::unique_ptr<FileWriter>(new ObjectWriter(*store_, path, src.size > kSinglePutMax));
}

Status ObjectEndpoint::Delete(const std::string& path) {
  if (!path.empty() && path.back() == '/') return Status::OK();  // directories are implicit
  Status s = store_->Delete(path);
  if (s.Is(Code::kNotFound)) return Status::OK();
  return s.ok() ? s : s.WithContext("deleting " + path);
}

}  // namespace strata::sync

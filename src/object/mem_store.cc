#include "object/mem_store.h"

#include <chrono>
#include <mutex>

#include "object/etag.h"
#include "object/key_listing.h"

namespace strata::object {

namespace {
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Slice(const std::string& body, uint64_t off, int64_t len) {
  if (off >= body.size()) return "";
  uint64_t avail = body.size() - off;
  uint64_t n = len < 0 ? avail : std::min<uint64_t>(avail, static_cast<uint64_t>(len));
  return body.substr(off, n);
}
}  // namespace

// Walks objects_ in key order. Lives only inside List(), which holds a shared lock.
class MemStore::Cursor : public KeyCursor {
 public:
  explicit Cursor(const std::map<std::string, Object>& objects)
      : objects_(objects), it_(objects.end()) {}
  Status Seek(const std::string& target) override {
    it_ = objects_.lower_bound(target);
    return Status::OK();
  }
  bool Valid() const override { return it_ != objects_.end(); }
  const std::string& key() const override { return it_->first; }
  Result<ObjectInfo> Info() override {
    return ObjectInfo{it_->first, it_->second.body->size(), it_->second.mtime_ns, it_->second.etag};
  }
  Status Next() override {
    ++it_;
    return Status::OK();
  }

 private:
  const std::map<std::string, Object>& objects_;
  std::map<std::string, Object>::const_iterator it_;
};

std::unique_ptr<MemStore> MemStore::Open(std::string name) {
  return std::unique_ptr<MemStore>(new MemStore(std::move(name)));
}

std::string MemStore::Describe() const { return "mem://" + name_; }

Result<std::string> MemStore::Get(const std::string& key, uint64_t off, int64_t len) {
  std::shared_ptr<const std::string> body;
  {
    std::shared_lock lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return Status::NotFound("no such key: " + key);
    body = it->second.body;
  }
  return Slice(*body, off, len);
}

Status MemStore::StoreObject(const std::string& key, std::string body) {
  Object obj;
  obj.etag = ContentTag::Of(body);
  obj.body = std::make_shared<const std::string>(std::move(body));
  obj.mtime_ns = NowNs();
  std::unique_lock lock(mu_);
  objects_[key] = std::move(obj);
  return Status::OK();
}

Status MemStore::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  RETURN_IF_ERROR(CheckKey(key));
  return StoreObject(key, std::string(data));
}

Result<ObjectInfo> MemStore::Head(const std::string& key) {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound("no such key: " + key);
  return ObjectInfo{key, it->second.body->size(), it->second.mtime_ns, it->second.etag};
}

Status MemStore::Delete(const std::string& key) {
  std::unique_lock lock(mu_);
  objects_.erase(key);
  return Status::OK();
}

Result<ListResult> MemStore::List(const ListOptions& opts) {
  std::shared_lock lock(mu_);
  Cursor cursor(objects_);
  return ListFromCursor(cursor, opts);
}

Result<MemStore::Upload*> MemStore::FindUpload(const std::string& key,
                                               const std::string& upload_id) {
  auto it = uploads_.find(upload_id);
  if (it == uploads_.end() || it->second.key != key) {
    return Status::NotFound("no such multipart upload: " + upload_id + " for key " + key);
  }
  return &it->second;
}

Result<std::string> MemStore::CreateMultipart(const std::string& key) {
  RETURN_IF_ERROR(CheckKey(key));
  std::unique_lock lock(mu_);
  std::string id = "mem-upload-" + std::to_string(next_upload_++);
  uploads_[id].key = key;
  return id;
}

Result<std::string> MemStore::UploadPart(const std::string& key, const std::string& upload_id,
                                         int part_number, std::string_view data) {
  if (part_number < 1 || part_number > 10000) {
    return Status::InvalidArgument("part number must be 1..10000, got " +
                                   std::to_string(part_number));
  }
  Object part;
  part.etag = ContentTag::Of(data);
  part.body = std::make_shared<const std::string>(data);
  part.mtime_ns = NowNs();
  std::string etag = part.etag;
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(Upload * upload, FindUpload(key, upload_id));
  upload->parts[part_number] = std::move(part);
  return etag;
}

Status MemStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                   const std::vector<PartInfo>& parts) {
  if (parts.empty()) return Status::InvalidArgument("multipart complete with no parts");
  std::string body;
  {
    std::unique_lock lock(mu_);
    ASSIGN_OR_RETURN(Upload * upload, FindUpload(key, upload_id));
    int prev = 0;
    for (const PartInfo& p : parts) {
      if (p.number <= prev) {
        return Status::InvalidArgument("multipart parts must be in ascending order");
      }
      prev = p.number;
      auto it = upload->parts.find(p.number);
      if (it == upload->parts.end() || it->second.etag != p.etag) {
        return Status::InvalidArgument("multipart part " + std::to_string(p.number) +
                                       " was not uploaded with etag " + p.etag);
      }
      body += *it->second.body;
    }
    uploads_.erase(upload_id);
  }
  return StoreObject(key, std::move(body));
}

Status MemStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(FindUpload(key, upload_id).status());
  uploads_.erase(upload_id);
  return Status::OK();
}

Result<std::vector<PartInfo>> MemStore::ListParts(const std::string& key,
                                                  const std::string& upload_id) {
  std::shared_lock lock(mu_);
  auto it = uploads_.find(upload_id);
  if (it == uploads_.end() || it->second.key != key) {
    return Status::NotFound("no such multipart upload: " + upload_id + " for key " + key);
  }
  std::vector<PartInfo> out;
  for (const auto& [number, part] : it->second.parts) {
    out.push_back(PartInfo{number, part.etag, part.body->size()});
  }
  return out;
}

}  // namespace strata::object

#include "object/prefix_store.h"

namespace strata::object {

Result<std::unique_ptr<PrefixStore>> PrefixStore::Open(std::shared_ptr<ObjectStore> target,
                                                       std::string prefix) {
  if (!target) return Status::InvalidArgument("prefix store needs a target store");
  if (prefix.empty()) return Status::InvalidArgument("key prefix is empty");
  return std::unique_ptr<PrefixStore>(new PrefixStore(std::move(target), std::move(prefix)));
}

Result<std::unique_ptr<PrefixStore>> PrefixStore::ForVolume(std::shared_ptr<ObjectStore> target,
                                                            const std::string& volume) {
  if (volume.empty() || volume.find('/') != std::string::npos) {
    return Status::InvalidArgument("volume name must be non-empty and contain no '/': '" + volume +
                                   "'");
  }
  return Open(std::move(target), volume + "/");
}

std::string PrefixStore::Describe() const { return target()->Describe() + " prefix " + prefix_; }

Result<std::string> PrefixStore::Get(const std::string& key, uint64_t off, int64_t len) {
  return target()->Get(Full(key), off, len);
}

Result<BlockBuffer> PrefixStore::GetBuffer(const std::string& key) {
  return target()->GetBuffer(Full(key));
}

Status PrefixStore::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  if (key.empty()) return Status::InvalidArgument("object key is empty");
  return target()->Put(Full(key), data, opts);
}

Status PrefixStore::PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                             const PutOptions& opts) {
  if (key.empty()) return Status::InvalidArgument("object key is empty");
  return target()->PutParts(Full(key), parts, opts);
}

Result<ObjectInfo> PrefixStore::Head(const std::string& key) {
  ASSIGN_OR_RETURN(ObjectInfo info, target()->Head(Full(key)));
  info.key = key;
  return info;
}

Status PrefixStore::Delete(const std::string& key) { return target()->Delete(Full(key)); }

Result<ListResult> PrefixStore::List(const ListOptions& opts) {
  ListOptions inner = opts;
  inner.prefix = prefix_ + opts.prefix;
  if (!opts.start_after.empty()) inner.start_after = prefix_ + opts.start_after;
  ASSIGN_OR_RETURN(ListResult result, target()->List(inner));
  for (ObjectInfo& o : result.objects) {
    if (o.key.compare(0, prefix_.size(), prefix_) != 0) {
      return Status::Internal("store listed key " + o.key + " outside prefix " + prefix_);
    }
    o.key.erase(0, prefix_.size());
  }
  for (std::string& p : result.common_prefixes) {
    if (p.compare(0, prefix_.size(), prefix_) != 0) {
      return Status::Internal("store listed prefix " + p + " outside prefix " + prefix_);
    }
    p.erase(0, prefix_.size());
  }
  return result;
}

Result<std::string> PrefixStore::CreateMultipart(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("object key is empty");
  return target()->CreateMultipart(Full(key));
}

Result<std::string> PrefixStore::UploadPart(const std::string& key, const std::string& upload_id,
                                            int part_number, std::string_view data) {
  return target()->UploadPart(Full(key), upload_id, part_number, data);
}

Status PrefixStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                      const std::vector<PartInfo>& parts) {
  return target()->CompleteMultipart(Full(key), upload_id, parts);
}

Status PrefixStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  return target()->AbortMultipart(Full(key), upload_id);
}

Result<std::vector<PartInfo>> PrefixStore::ListParts(const std::string& key,
                                                     const std::string& upload_id) {
  return target()->ListParts(Full(key), upload_id);
}

Status PrefixStore::Sync(const std::vector<std::string>& keys) {
  std::vector<std::string> full;
  full.reserve(keys.size());
  for (const std::string& key : keys) full.push_back(Full(key));
  return target()->Sync(full);
}

}  // namespace strata::object

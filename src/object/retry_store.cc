#include "object/retry_store.h"

#include <algorithm>

#include "common/backoff.h"
#include "common/logging.h"

namespace strata::object {

Status RetryStore::Options::Validate() const {
  if (max_attempts < 1) return Status::InvalidArgument("retry max_attempts must be >= 1");
  if (initial_backoff.count() < 0 || max_backoff < initial_backoff) {
    return Status::InvalidArgument("retry back-off must satisfy 0 <= initial <= max");
  }
  if (total_timeout.count() <= 0) return Status::InvalidArgument("retry total_timeout <= 0");
  return Status::OK();
}

Result<std::unique_ptr<RetryStore>> RetryStore::Open(std::shared_ptr<ObjectStore> target,
                                                     const Options& options) {
  RETURN_IF_ERROR(options.Validate());
  if (!target) return Status::InvalidArgument("retry store needs a target store");
  return std::unique_ptr<RetryStore>(new RetryStore(std::move(target), options));
}

RetryStore::RetryStore(std::shared_ptr<ObjectStore> target, const Options& options)
    : ObjectStoreWrapper(std::move(target)),
      options_(options),
      clock_(options.clock ? options.clock : SystemClock::Get()) {}

std::string RetryStore::Describe() const { return target()->Describe(); }

Status RetryStore::Run(const std::string& what, const std::function<Status()>& attempt) {
  BackoffPolicy policy{options_.initial_backoff, options_.max_backoff, /*jitter=*/1.0};
  uint64_t seed = 0;
  if (options_.seed) seed = options_.seed + seq_.fetch_add(1, std::memory_order_relaxed);
  Backoff backoff(policy, clock_, Deadline::After(*clock_, options_.total_timeout), seed);
  Status s;
  int attempts = 0;
  while (true) {
    s = attempt();
    ++attempts;
    if (s.ok() || !s.IsRetryable()) return s;
    LOG_DEBUG("store: {} failed (attempt {}): {}", what, attempts, s.ToString());
    if (attempts >= options_.max_attempts || !backoff.Wait()) break;
    retries_.fetch_add(1);
  }
  Status given_up = backoff.GiveUp(s, what);
  LOG_WARN_EVERY("store {}: {}", target()->Describe(), given_up.ToString());
  return given_up;
}

Result<std::string> RetryStore::Get(const std::string& key, uint64_t off, int64_t len) {
  std::string out;
  RETURN_IF_ERROR(Run("get " + key, [&]() -> Status {
    ASSIGN_OR_RETURN(out, target()->Get(key, off, len));
    return Status::OK();
  }));
  return out;
}

Result<BlockBuffer> RetryStore::GetBuffer(const std::string& key) {
  BlockBuffer out;
  RETURN_IF_ERROR(Run("get " + key, [&]() -> Status {
    ASSIGN_OR_RETURN(out, target()->GetBuffer(key));
    return Status::OK();
  }));
  return out;
}

Status RetryStore::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  return Run("put " + key, [&] { return target()->Put(key, data, opts); });
}

Status RetryStore::PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                            const PutOptions& opts) {
  return Run("put " + key, [&] { return target()->PutParts(key, parts, opts); });
}

Result<ObjectInfo> RetryStore::Head(const std::string& key) {
  ObjectInfo out;
  RETURN_IF_ERROR(Run("head " + key, [&]() -> Status {
    ASSIGN_OR_RETURN(out, target()->Head(key));
    return Status::OK();
  }));
  return out;
}

Status RetryStore::Delete(const std::string& key) {
  return Run("delete " + key, [&] { return target()->Delete(key); });
}

Result<ListResult> RetryStore::List(const ListOptions& opts) {
  ListResult out;
  RETURN_IF_ERROR(Run("list " + opts.prefix, [&]() -> Status {
    ASSIGN_OR_RETURN(out, target()->List(opts));
    return Status::OK();
  }));
  return out;
}

Result<std::string> RetryStore::CreateMultipart(const std::string& key) {
  std::string out;
  RETURN_IF_ERROR(Run("create multipart " + key, [&]() -> Status {
    ASSIGN_OR_RETURN(out, target()->CreateMultipart(key));
    return Status::OK();
  }));
  return out;
}

Result<std::string> RetryStore::UploadPart(const std::string& key, const std::string& upload_id,
                                           int part_number, std::string_view data) {
  std::string out;
  RETURN_IF_ERROR(Run("upload part " + std::to_string(part_number) + " of " + key, [&]() -> Status {
    ASSIGN_OR_RETURN(out, target()->UploadPart(key, upload_id, part_number, data));
    return Status::OK();
  }));
  return out;
}

Status RetryStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                     const std::vector<PartInfo>& parts) {
  return Run("complete multipart " + key,
             [&] { return target()->CompleteMultipart(key, upload_id, parts); });
}

Status RetryStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  return Run("abort multipart " + key, [&] { return target()->AbortMultipart(key, upload_id); });
}

Result<std::vector<PartInfo>> RetryStore::ListParts(const std::string& key,
                                                    const std::string& upload_id) {
  std::vector<PartInfo> out;
  RETURN_IF_ERROR(Run("list parts of " + key, [&]() -> Status {
    ASSIGN_OR_RETURN(out, target()->ListParts(key, upload_id));
    return Status::OK();
  }));
  return out;
}

Status RetryStore::Sync(const std::vector<std::string>& keys) {
  // Sync is idempotent, so a retry simply makes every key durable again.
  std::string what = "sync of " + std::to_string(keys.size()) + " keys";
  if (!keys.empty()) what += " (" + keys.front() + (keys.size() > 1 ? ", ...)" : ")");
  return Run(what, [&] { return target()->Sync(keys); });
}

}  // namespace strata::object

#include "object/faulty_store.h"

namespace strata::object {

FaultRule FaultRule::Throttle(uint32_t ops, double probability, int count) {
  FaultRule r;
  r.ops = ops;
  r.code = Code::kUnavailable;
  r.message = "503 SlowDown: please reduce your request rate (injected)";
  r.probability = probability;
  r.count = count;
  return r;
}

std::unique_ptr<FaultyStore> FaultyStore::Open(std::shared_ptr<ObjectStore> target,
                                               Options options) {
  return std::unique_ptr<FaultyStore>(new FaultyStore(std::move(target), std::move(options)));
}

FaultyStore::FaultyStore(std::shared_ptr<ObjectStore> target, Options options)
    : ObjectStoreWrapper(std::move(target)),
      clock_(options.clock ? options.clock : SystemClock::Get()),
      latency_(options.latency),
      short_read_probability_(options.short_read_probability),
      rng_(options.seed) {
  for (FaultRule& r : options.rules) rules_.push_back(RuleState{std::move(r)});
}

void FaultyStore::AddRule(FaultRule rule) {
  std::lock_guard lock(mu_);
  rules_.push_back(RuleState{std::move(rule)});
}

void FaultyStore::ClearRules() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

void FaultyStore::SetShortReadProbability(double p) {
  std::lock_guard lock(mu_);
  short_read_probability_ = p;
}

uint64_t FaultyStore::injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

Status FaultyStore::Before(StoreOp op, const std::string& key) {
  std::chrono::milliseconds latency;
  Status fault;
  {
    std::lock_guard lock(mu_);
    latency = latency_;
    for (RuleState& st : rules_) {
      if ((st.rule.ops & OpBit(op)) == 0) continue;
      if (st.seen++ < st.rule.skip) continue;
      if (st.rule.count >= 0 && st.injected >= st.rule.count) continue;
      if (std::uniform_real_distribution<double>(0, 1)(rng_) >= st.rule.probability) continue;
      st.injected++;
      injected_++;
      fault = Status(st.rule.code, st.rule.message + " (" + StoreOpName(op) + " " + key + ")");
      break;
    }
  }
  if (latency.count() > 0) clock_->SleepFor(latency);
  return fault;
}

Result<std::string> FaultyStore::Get(const std::string& key, uint64_t off, int64_t len) {
  RETURN_IF_ERROR(Before(StoreOp::kGet, key));
  ASSIGN_OR_RETURN(std::string body, target()->Get(key, off, len));
  if (!body.empty()) {
    std::lock_guard lock(mu_);
    if (short_read_probability_ > 0 &&
        std::uniform_real_distribution<double>(0, 1)(rng_) < short_read_probability_) {
      body.resize(std::uniform_int_distribution<size_t>(0, body.size() - 1)(rng_));
      injected_++;
    }
  }
  return body;
}

Status FaultyStore::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  RETURN_IF_ERROR(Before(StoreOp::kPut, key));
  return target()->Put(key, data, opts);
}

Result<ObjectInfo> FaultyStore::Head(const std::string& key) {
  RETURN_IF_ERROR(Before(StoreOp::kHead, key));
  return target()->Head(key);
}

Status FaultyStore::Delete(const std::string& key) {
  RETURN_IF_ERROR(Before(StoreOp::kDelete, key));
  return target()->Delete(key);
}

Result<ListResult> FaultyStore::List(const ListOptions& opts) {
  RETURN_IF_ERROR(Before(StoreOp::kList, opts.prefix));
  return target()->List(opts);
}

Result<std::string> FaultyStore::CreateMultipart(const std::string& key) {
  RETURN_IF_ERROR(Before(StoreOp::kCreateMultipart, key));
  return target()->CreateMultipart(key);
}

Result<std::string> FaultyStore::UploadPart(const std::string& key, const std::string& upload_id,
                                            int part_number, std::string_view data) {
  RETURN_IF_ERROR(Before(StoreOp::kUploadPart, key));
  return target()->UploadPart(key, upload_id, part_number, data);
}

Status FaultyStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                      const std::vector<PartInfo>& parts) {
  RETURN_IF_ERROR(Before(StoreOp::kCompleteMultipart, key));
  return target()->CompleteMultipart(key, upload_id, parts);
}

Status FaultyStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  RETURN_IF_ERROR(Before(StoreOp::kAbortMultipart, key));
  return target()->AbortMultipart(key, upload_id);
}

Result<std::vector<PartInfo>> FaultyStore::ListParts(const std::string& key,
                                                     const std::string& upload_id) {
  RETURN_IF_ERROR(Before(StoreOp::kListParts, key));
  return target()->ListParts(key, upload_id);
}

Status FaultyStore::Sync(const std::vector<std::string>& keys) {
  RETURN_IF_ERROR(Before(StoreOp::kSync, keys.empty() ? std::string() : keys.front()));
  return target()->Sync(keys);
}

}  // namespace strata::object

// QuotaKv and its transaction (quota_kv.h): usage increments go by and are charged to the
// quotas over their directory and to the volume limits.
#include "meta/quota_kv.h"

#include <unordered_map>

#include "common/bytes.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta::quota {
namespace {

// 0: not a volume usage shard key; 1: a space shard; 2: an inode shard (C{counter}/{k}).
int VolumeShardKind(std::string_view key) {
  static constexpr std::string_view kSpace = "CusedSpace/", kInodes = "CusedInodes/";
  std::string_view rest;
  int kind = 0;
  if (key.substr(0, kSpace.size()) == kSpace) {
    rest = key.substr(kSpace.size());
    kind = 1;
  } else if (key.substr(0, kInodes.size()) == kInodes) {
    rest = key.substr(kInodes.size());
    kind = 2;
  }
  if (rest.empty() || rest.size() > 2) return 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return 0;
  }
  return kind;
}

bool IsInoKey(std::string_view key, char kind) {
  return key.size() == 9 && key[0] == kind;
}

// Keys whose values this wrapper remembers per transaction: the epoch, the two limits, attrs.
bool Remembered(std::string_view key) {
  if (key.size() == 10 && key[0] == 'A' && key[9] == 'I') return true;
  return key.size() > 1 && key[0] == 'C' &&
         (key == EpochKey() || key == schema::CounterKey(internal::kCapacityCounter) ||
          key == schema::CounterKey(internal::kMaxInodesCounter));
}

uint64_t DecodeU64(const std::optional<std::string>& raw) {
  return raw && raw->size() == 8 ? GetU64BE(raw->data()) : 0;
}

class QuotaTxn : public kv::TransactionWrapper {
 public:
  QuotaTxn(std::unique_ptr<kv::Transaction> t, Tracker* tracker)
      : TransactionWrapper(std::move(t)), tracker_(tracker) {}

  // A transaction dropped without a commit (an error, a retry) releases what it admitted.
  ~QuotaTxn() override { tracker_->Finish(charges_, false); }

  kv::Transaction& inner() { return target(); }
  // The charges to settle after a group commit (none are left to the destructor).
  std::vector<Tracker::Charge> TakeCharges() {
    std::vector<Tracker::Charge> out;
    out.swap(charges_);
    return out;
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    if (Remembered(key)) {
      auto it = memo_.find(std::string(key));
      if (it != memo_.end()) return it->second;
    }
    ASSIGN_OR_RETURN(auto v, target().Get(key));
    Note(key, v);
    return v;
  }
  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    bool all_known = !keys.empty();
    for (const auto& k : keys) {
      if (!Remembered(k) || !memo_.count(k)) {
        all_known = false;
        break;
      }
    }
    if (all_known) {
      std::vector<std::optional<std::string>> out;
      for (const auto& k : keys) out.push_back(memo_[k]);
      return out;
    }
    ASSIGN_OR_RETURN(auto v, target().BatchGet(keys));
    for (size_t i = 0; i < keys.size() && i < v.size(); i++) Note(keys[i], v[i]);
    return v;
  }
  void Put(std::string_view key, std::string_view value) override {
    // The epoch this transaction read stays what charges use (epoch_): a bump written here
    // applies from the commit on.
    if (Remembered(key) && key != EpochKey()) memo_[std::string(key)] = std::string(value);
    target().Put(key, value);
  }
  void Delete(std::string_view key) override {
    if (Remembered(key) && key != EpochKey()) memo_[std::string(key)] = std::nullopt;
    target().Delete(key);
  }
  Status Increment(std::string_view key, const std::vector<int64_t>& deltas,
                   bool erase_at_zero) override {
    if (IsInoKey(key, 'U') && deltas.size() == 2) {
      RETURN_IF_ERROR(ChargeDir(GetU64BE(key.data() + 1), deltas[0], deltas[1]));
    } else if (IsInoKey(key, 'Q') && deltas.size() == 5) {
      // A subtree moved by Tracker::MoveDirs: admitted like any growth.
      RETURN_IF_ERROR(
          tracker_->Admit(*this, GetU64BE(key.data() + 1), deltas[3], deltas[4], &charges_));
    } else if (int kind = VolumeShardKind(key); kind != 0 && deltas.size() == 1) {
      RETURN_IF_ERROR(ChargeVolume(kind == 1 ? deltas[0] : 0, kind == 2 ? deltas[0] : 0));
    }
    return target().Increment(key, deltas, erase_at_zero);
  }
  Status Commit() override {
    Status s = target().Commit();
    tracker_->Finish(TakeCharges(), s.ok());
    return s;
  }

 private:
  void Note(std::string_view key, const std::optional<std::string>& v) {
    if (!Remembered(key)) return;
    memo_.emplace(std::string(key), v);
  }

  // The epoch and the limits, read together when the operation has not read them yet.
  Status LoadCounters() {
    if (memo_.count(EpochKey()) && memo_.count(schema::CounterKey(internal::kCapacityCounter)) &&
        memo_.count(schema::CounterKey(internal::kMaxInodesCounter))) {
      return Status::OK();
    }
    std::vector<std::string> keys = internal::UsageLimitKeys();
    return BatchGet(keys).status();
  }

  Status ChargeDir(Ino dir, int64_t bytes, int64_t inodes) {
    if (bytes == 0 && inodes == 0) return Status::OK();
    RETURN_IF_ERROR(LoadCounters());
    const uint64_t epoch = DecodeEpoch(memo_[EpochKey()]);
    ASSIGN_OR_RETURN(std::vector<Ino> over, tracker_->QuotasOver(*this, epoch, dir));
    for (Ino q : over) {
      RETURN_IF_ERROR(tracker_->Admit(*this, q, bytes, inodes, &charges_));
      RETURN_IF_ERROR(
          target().Increment(schema::QuotaKey(q), ChargeDeltas(bytes, inodes), false));
    }
    return Status::OK();
  }

  Status ChargeVolume(int64_t bytes, int64_t inodes) {
    RETURN_IF_ERROR(LoadCounters());
    const uint64_t cap = DecodeU64(memo_[schema::CounterKey(internal::kCapacityCounter)]);
    const uint64_t max_inodes = DecodeU64(memo_[schema::CounterKey(internal::kMaxInodesCounter)]);
    if ((bytes != 0 && cap == 0) || (inodes != 0 && max_inodes == 0)) return Status::OK();
    return tracker_->Admit(*this, kVolume, bytes, inodes, &charges_, cap, max_inodes);
  }

  Tracker* const tracker_;
  std::unordered_map<std::string, std::optional<std::string>> memo_;
  std::vector<Tracker::Charge> charges_;
};

}  // namespace

Result<std::unique_ptr<kv::Transaction>> QuotaKv::Begin(bool read_only) {
  ASSIGN_OR_RETURN(auto t, target().Begin(read_only));
  return std::unique_ptr<kv::Transaction>(std::make_unique<QuotaTxn>(std::move(t), tracker_.get()));
}

std::vector<Status> QuotaKv::CommitGroup(const std::vector<kv::Transaction*>& txns) {
  std::vector<kv::Transaction*> inner;
  std::vector<QuotaTxn*> ours;
  for (kv::Transaction* t : txns) {
    auto* q = dynamic_cast<QuotaTxn*>(t);
    if (q == nullptr) return KvEngine::CommitGroup(txns);  // not ours: one by one
    ours.push_back(q);
    inner.push_back(&q->inner());
  }
  std::vector<Status> out = target().CommitGroup(inner);
  for (size_t i = 0; i < ours.size(); i++) {
    tracker_->Finish(ours[i]->TakeCharges(), i < out.size() && out[i].ok());
  }
  return out;
}

}  // namespace strata::meta::quota

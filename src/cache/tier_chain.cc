#include "cache/tier_chain.h"

#include <algorithm>

#include "common/logging.h"
#include "fmt/format.h"

namespace strata::cache {

Status TierChainOptions::Validate() const {
  if (tiers.empty()) return Status::InvalidArgument("a tier chain needs at least one tier");
  if (std::find(tiers.begin(), tiers.end(), nullptr) != tiers.end()) {
    return Status::InvalidArgument("a tier chain's tier is null");
  }
  if (std::find(tiers.begin(), tiers.end(), write_target) == tiers.end()) {
    return Status::InvalidArgument("the write target must be one of the chain's tiers");
  }
  for (const BlockTier* t : no_fills_from_last) {
    auto it = std::find(tiers.begin(), tiers.end(), t);
    if (it == tiers.end() || it + 1 == tiers.end()) {
      return Status::InvalidArgument("a tier without store fills must be a cache of the chain");
    }
  }
  return Status::OK();
}

struct TierChain::Counters {
  std::atomic<uint64_t> hits{0}, misses{0}, errors{0}, fills{0}, fill_errors{0}, writes{0},
      write_errors{0};
};

// One fetch down the chain, shared by the concurrent Gets of a key.
struct TierChain::Flight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // guarded by mu
  Status status;      // guarded by mu; valid once done
  BlockData data;     // guarded by mu; valid once done and status.ok()
};

Result<std::unique_ptr<TierChain>> TierChain::Open(const TierChainOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<TierChain>(new TierChain(options));
}

TierChain::TierChain(const TierChainOptions& options)
    : tiers_(options.tiers),
      write_target_(static_cast<size_t>(
          std::find(options.tiers.begin(), options.tiers.end(), options.write_target) -
          options.tiers.begin())) {
  for (size_t i = 0; i < tiers_.size(); i++) {
    counters_.push_back(std::make_unique<Counters>());
    no_fill_from_last_.push_back(std::find(options.no_fills_from_last.begin(),
                                           options.no_fills_from_last.end(),
                                           tiers_[i]) != options.no_fills_from_last.end());
  }
}

TierChain::~TierChain() = default;

TierChain::Answer TierChain::NotServed(size_t i, const Status& status, Status* error) {
  Counters& c = *counters_[i];
  if (status.Is(Code::kNotFound)) {
    c.misses++;
    return Answer::kMiss;
  }
  c.errors++;
  *error = status.WithContext(fmt::format("{} tier", tiers_[i]->Name()));
  // Rate-limited: a failing tier (a peer that is down) would otherwise log every block read.
  if (i + 1 < tiers_.size()) LOG_WARN_EVERY("{}; trying the next tier", error->ToString());
  return Answer::kError;
}

TierChain::Answer TierChain::Ask(size_t i, const std::string& key, uint32_t len, BlockData* data,
                                 Status* error) {
  BlockTier* tier = tiers_[i];
  auto got = tier->Get(key, len);
  if (got.ok() && (*got)->size() != len) {
    // As bad as a corrupt entry: never returned, dropped from the tier.
    got = Status::Corruption(
        fmt::format("block {} holds {} bytes, {} expected from its key", key, (*got)->size(), len));
    (void)tier->Remove(key);  // dropped: the next tier is asked either way
  }
  if (got.ok()) {
    counters_[i]->hits++;
    *data = std::move(*got);
    return Answer::kHit;
  }
  return NotServed(i, got.status(), error);
}

TierChain::Answer TierChain::AskRange(size_t i, const std::string& key, uint32_t block_len,
                                      uint32_t off, uint32_t n, std::string* out, Status* error) {
  auto got = tiers_[i]->GetRange(key, block_len, off, n);
  if (got.ok() && got->size() != n) {
    got = Status::IOError(fmt::format("short read of {}: {} of {} bytes", key, got->size(), n));
  }
  if (got.ok()) {
    counters_[i]->hits++;
    *out = std::move(*got);
    return Answer::kHit;
  }
  return NotServed(i, got.status(), error);
}

void TierChain::Fill(const std::string& key, const BlockData& data, size_t served, bool written) {
  for (size_t j = served; j-- > 0;) {
    BlockTier* tier = tiers_[j];
    if (!tier->WantsFill()) continue;
    if (!written && served + 1 == tiers_.size() && no_fill_from_last_[j]) continue;
    counters_[j]->fills++;
    Status st = tier->Put(key, data);
    if (!st.ok()) {
      // A fill is best effort: the block was served; the tier just does not keep it.
      counters_[j]->fill_errors++;
      LOG_WARN_EVERY("{} tier: fill of block {} failed: {}", tier->Name(), key, st.ToString());
    }
  }
}

Status TierChain::NoTierHas(const std::string& key, const Status& first_error) const {
  if (!first_error.ok()) return first_error.WithContext("no other tier has it");
  std::string names;
  for (const BlockTier* t : tiers_) names += (names.empty() ? "" : ", ") + std::string(t->Name());
  return Status::NotFound(fmt::format("block {} is in no tier ({})", key, names));
}

Result<BlockData> TierChain::Fetch(const std::string& key, uint32_t len, size_t from,
                                   size_t* served) {
  Status first_error;
  for (size_t i = from; i < tiers_.size(); i++) {
    BlockData data;
    Status error;
    switch (Ask(i, key, len, &data, &error)) {
      case Answer::kHit:
        *served = i;
        return data;
      case Answer::kMiss:
        break;
      case Answer::kError:
        if (i + 1 == tiers_.size()) return error;  // the last tier's error is the result
        if (first_error.ok()) first_error = error;
        break;
    }
  }
  return NoTierHas(key, first_error);
}

Result<BlockData> TierChain::Get(const std::string& key, uint32_t len) {
  // The head tier (memory) first, outside the single-flight table: a hit costs no chain lock.
  const bool probe_head = tiers_.size() > 1 && tiers_[0]->WantsFill();
  if (probe_head) {
    BlockData data;
    Status error;
    if (Ask(0, key, len, &data, &error) == Answer::kHit) return data;
  }
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    auto it = inflight_.find(key);
    if (it == inflight_.end()) {
      flight = std::make_shared<Flight>();
      inflight_.emplace(key, flight);
      leader = true;
    } else {
      flight = it->second;
    }
  }
  if (!leader) return Wait(*flight);
  return Lead(key, len, probe_head, *flight);
}

Result<BlockData> TierChain::Lead(const std::string& key, uint32_t len, bool probed_head,
                                  Flight& flight) {
  BlockData data;
  Status status;
  size_t served = 0;
  bool fetched = false;
  if (probed_head) {
    // A fetch that finished between our miss and our registration filled the head tier
    // before it unregistered: look again (uncounted: the miss was counted) rather than fetch
    // the block a second time.
    auto again = tiers_[0]->Get(key, len);
    if (again.ok() && (*again)->size() == len) {
      shared_++;
      data = std::move(*again);
    }
  }
  if (!data) {
    auto got = Fetch(key, len, probed_head ? 1 : 0, &served);
    if (got.ok()) {
      data = std::move(*got);
      fetched = true;
    } else {
      status = got.status();
    }
  }
  {
    std::lock_guard lock(flight.mu);
    flight.done = true;
    flight.status = status;
    flight.data = data;
  }
  flight.cv.notify_all();  // waiters go now; the key stays registered until the fills are done
  if (fetched) Fill(key, data, served);
  {
    std::lock_guard lock(mu_);
    inflight_.erase(key);
  }
  if (!status.ok()) return status;
  return data;
}

Result<BlockData> TierChain::Wait(Flight& flight) {
  shared_++;
  std::unique_lock lock(flight.mu);
  flight.cv.wait(lock, [&] { return flight.done; });
  if (!flight.status.ok()) return flight.status;
  return flight.data;
}

std::shared_ptr<TierChain::Flight> TierChain::FindFlight(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = inflight_.find(key);
  return it == inflight_.end() ? nullptr : it->second;
}

Result<std::string> TierChain::GetRange(const std::string& key, uint32_t block_len, uint32_t off,
                                        uint32_t n) {
  if (static_cast<uint64_t>(off) + n > block_len) {
    return Status::InvalidArgument("read beyond the end of a block");
  }
  size_t first_ranged = 0;
  while (first_ranged < tiers_.size() && !tiers_[first_ranged]->ServesRanges()) first_ranged++;
  if (first_ranged == tiers_.size()) {
    // Nobody serves ranges (a compressed volume): the whole block, shared as usual.
    ASSIGN_OR_RETURN(BlockData whole, Get(key, block_len));
    return std::string(whole->view().substr(off, n));
  }
  Status first_error;
  for (size_t i = 0; i < tiers_.size(); i++) {
    Answer answer;
    Status error;
    if (tiers_[i]->ServesRanges()) {
      // The whole block is being fetched already (readahead): share that fetch rather than
      // send a ranged read for part of the same bytes.
      if (i == first_ranged) {
        if (auto flight = FindFlight(key)) {
          ASSIGN_OR_RETURN(BlockData whole, Wait(*flight));
          return std::string(whole->view().substr(off, n));
        }
      }
      std::string part;
      answer = AskRange(i, key, block_len, off, n, &part, &error);
      if (answer == Answer::kHit) return part;
    } else {
      BlockData whole;
      answer = Ask(i, key, block_len, &whole, &error);
      if (answer == Answer::kHit) {
        Fill(key, whole, i);
        return std::string(whole->view().substr(off, n));
      }
    }
    if (answer == Answer::kError) {
      if (i + 1 == tiers_.size()) return error;
      if (first_error.ok()) first_error = error;
    }
  }
  return NoTierHas(key, first_error);
}

Status TierChain::Prefetch(const std::string& key, uint32_t len) {
  bool any_cache = false;
  for (size_t i = 0; i + 1 < tiers_.size(); i++) {
    if (!tiers_[i]->WantsFill()) continue;
    if (tiers_[i]->Contains(key)) return Status::OK();
    any_cache = true;
  }
  if (!any_cache) return Status::OK();  // nowhere to keep it
  if (FindFlight(key)) return Status::OK();
  return Get(key, len).status();
}

Status TierChain::ReadAhead(const std::string& key, uint32_t len) {
  const bool head_caches = tiers_.size() > 1 && tiers_[0]->WantsFill();
  if (!head_caches) return Prefetch(key, len);
  if (tiers_[0]->Contains(key) || FindFlight(key)) return Status::OK();
  // The whole lookup, as a read would: a disk hit is verified there and promoted into memory;
  // a miss everywhere fetches it and fills every cache (what Prefetch would have done).
  return Get(key, len).status();
}

Status TierChain::Write(const std::string& key, std::string_view plain, bool sync, bool fill,
                        const BlockOrigin& origin) {
  Counters& c = *counters_[write_target_];
  c.writes++;
  Status st = tiers_[write_target_]->Write(key, plain, sync, origin);
  if (!st.ok()) {
    c.write_errors++;
    return st;
  }
  if (fill && write_target_ > 0) {
    Fill(key, BlockBuffer::Share(BlockBuffer::Copy(plain)), write_target_, /*written=*/true);
  }
  return Status::OK();
}

Status TierChain::Write(const std::string& key, const BlockData& data, bool sync, bool fill,
                        const BlockOrigin& origin) {
  Counters& c = *counters_[write_target_];
  c.writes++;
  Status st = tiers_[write_target_]->Write(key, *data, sync, origin);
  if (!st.ok()) {
    c.write_errors++;
    return st;
  }
  if (fill && write_target_ > 0) Fill(key, data, write_target_);
  return Status::OK();
}

Status TierChain::Sync(const std::vector<std::string>& keys) {
  return tiers_[write_target_]->Sync(keys);
}

Status TierChain::Remove(const std::string& key) {
  Status first;
  for (BlockTier* tier : tiers_) {
    Status st = tier->Remove(key);
    if (!st.ok() && !st.Is(Code::kNotFound) && first.ok()) first = st;
  }
  return first;
}

bool TierChain::caches() const {
  for (size_t i = 0; i + 1 < tiers_.size(); i++) {
    if (tiers_[i]->WantsFill()) return true;
  }
  return false;
}

TierChainStats TierChain::stats() const {
  TierChainStats s;
  s.shared = shared_.load();
  for (size_t i = 0; i < tiers_.size(); i++) {
    const Counters& c = *counters_[i];
    TierStats t;
    t.name = std::string(tiers_[i]->Name());
    t.hits = c.hits;
    t.misses = c.misses;
    t.errors = c.errors;
    t.fills = c.fills;
    t.fill_errors = c.fill_errors;
    t.writes = c.writes;
    t.write_errors = c.write_errors;
    s.tiers.push_back(std::move(t));
  }
  return s;
}

}  // namespace strata::cache

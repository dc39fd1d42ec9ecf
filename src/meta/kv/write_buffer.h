// WriteBuffer: the buffered Put/Delete of one optimistic transaction, and the read-your-writes
// merge every engine needs: Get/BatchGet consult it first, Scan merges it over the engine's own
// ordered view (MergedScan). Engines keep their stored reads and the read set; this class
// keeps only the pending writes, in key order, so they can be applied in one batch at commit.
//
// Thread-safety: none; it belongs to one Transaction (one thread). Never fails, except an
// increment whose field count differs from the key's other pending increment.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "meta/kv/kv.h"

namespace strata::kv {

class WriteBuffer {
 public:
  // key -> value to store, or nullopt for a delete.
  using Map = std::map<std::string, std::optional<std::string>, std::less<>>;

  void Put(std::string_view key, std::string_view value) {
    Set(key, std::optional<std::string>(std::in_place, value));
  }
  void Delete(std::string_view key) { Set(key, std::nullopt); }

  // nullptr when the key has no pending write; otherwise the pending value (nullopt = deleted).
  const std::optional<std::string>* Find(std::string_view key) const {
    auto it = writes_.find(key);
    return it == writes_.end() ? nullptr : &it->second;
  }

  // A BatchGet's first step: out[i] (sized like keys) gets the pending value of every key this
  // buffer holds; the indexes of the others, which the engine must read, are returned in order.
  std::vector<size_t> AnswerPending(const std::vector<std::string>& keys,
                                    std::vector<std::optional<std::string>>* out) const {
    std::vector<size_t> unanswered;
    for (size_t i = 0; i < keys.size(); i++) {
      if (const auto* w = Find(keys[i])) {
        (*out)[i] = *w;
      } else {
        unanswered.push_back(i);
      }
    }
    return unanswered;
  }

  bool empty() const { return writes_.empty() && increments_.empty(); }
  size_t size() const { return writes_.size(); }
  const Map& entries() const { return writes_; }

  // Pending blind increments (kv.h Transaction::Increment), applied by the engine at commit.
  // A Put or Delete of the key replaces its pending increment; an increment of a key with a
  // pending Put/Delete is added to that value at once. Engines call TakeIncrement before
  // reading a key (and TakeIncrementsIn before scanning a range), then apply it over the
  // stored value with ApplyIncrement and Put/Delete the result here.
  struct Increment {
    std::vector<int64_t> deltas;
    bool erase_at_zero = false;
  };
  using IncrementMap = std::map<std::string, Increment, std::less<>>;
  Status AddIncrement(std::string_view key, const std::vector<int64_t>& deltas, bool erase_at_zero);
  const IncrementMap& increments() const { return increments_; }
  std::optional<Increment> TakeIncrement(std::string_view key);
  // Every pending increment with begin <= key < end ("" end = unbounded), removed.
  std::vector<std::pair<std::string, Increment>> TakeIncrementsIn(std::string_view begin,
                                                                  std::string_view end);
  // Before a scan of [begin, end): every pending increment in the range becomes an ordinary
  // pending write, added over the stored values that `load` reads (in one call, keys in
  // order). Engines that add at commit time call it so the scan sees the results.
  using Load = std::function<Result<std::vector<std::optional<std::string>>>(
      const std::vector<std::string>& keys)>;
  Status MaterializeIncrementsIn(std::string_view begin, std::string_view end, const Load& load);
  // Applies `inc` over `stored` (the value the engine holds) as a pending Put/Delete.
  void Materialize(const std::string& key, const std::optional<std::string>& stored,
                   const Increment& inc);

  // Reads up to `limit` stored pairs of [begin, end) ("" end = unbounded), in key order.
  using Fetch = std::function<Result<std::vector<KeyValue>>(std::string_view begin,
                                                            std::string_view end, size_t limit)>;

  // Scan semantics of kv.h over the stored view given by `fetch` with this buffer applied on
  // top: pending puts appear, pending deletes hide stored pairs. Calls fetch as many times as
  // needed to fill `limit` (deletes may hide part of a page); each call covers a contiguous
  // range starting where the previous one ended, so engines can record each as read.
  Result<std::vector<KeyValue>> MergedScan(std::string_view begin, std::string_view end,
                                           size_t limit, const Fetch& fetch) const;

 private:
  void Set(std::string_view key, std::optional<std::string> value) {
    if (auto inc = increments_.find(key); inc != increments_.end()) increments_.erase(inc);
    auto it = writes_.find(key);
    if (it == writes_.end()) {
      writes_.emplace(std::string(key), std::move(value));
    } else {
      it->second = std::move(value);
    }
  }

  Map writes_;
  IncrementMap increments_;
};

}  // namespace strata::kv

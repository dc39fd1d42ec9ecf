#include "meta/kv/write_buffer.h"

namespace strata::kv {

Status WriteBuffer::AddIncrement(std::string_view key, const std::vector<int64_t>& deltas,
                                 bool erase_at_zero) {
  if (deltas.empty()) return Status::InvalidArgument("increment without fields");
  if (auto it = writes_.find(key); it != writes_.end()) {
    it->second = ApplyIncrement(it->second, deltas, erase_at_zero);
    return Status::OK();
  }
  auto [it, inserted] = increments_.try_emplace(std::string(key), Increment{deltas, erase_at_zero});
  if (inserted) return Status::OK();
  if (it->second.deltas.size() != deltas.size()) {
    return Status::InvalidArgument("increments of one key with different field counts");
  }
  for (size_t i = 0; i < deltas.size(); i++) {
    it->second.deltas[i] = static_cast<int64_t>(static_cast<uint64_t>(it->second.deltas[i]) +
                                                static_cast<uint64_t>(deltas[i]));
  }
  it->second.erase_at_zero = it->second.erase_at_zero || erase_at_zero;
  return Status::OK();
}

std::optional<WriteBuffer::Increment> WriteBuffer::TakeIncrement(std::string_view key) {
  auto it = increments_.find(key);
  if (it == increments_.end()) return std::nullopt;
  Increment inc = std::move(it->second);
  increments_.erase(it);
  return inc;
}

std::vector<std::pair<std::string, WriteBuffer::Increment>> WriteBuffer::TakeIncrementsIn(
    std::string_view begin, std::string_view end) {
  std::vector<std::pair<std::string, Increment>> out;
  for (auto it = increments_.lower_bound(begin);
       it != increments_.end() && (end.empty() || it->first < end);) {
    out.emplace_back(it->first, std::move(it->second));
    it = increments_.erase(it);
  }
  return out;
}

Status WriteBuffer::MaterializeIncrementsIn(std::string_view begin, std::string_view end,
                                            const Load& load) {
  auto incs = TakeIncrementsIn(begin, end);
  if (incs.empty()) return Status::OK();
  std::vector<std::string> keys;
  for (const auto& [k, inc] : incs) keys.push_back(k);
  ASSIGN_OR_RETURN(auto stored, load(keys));
  for (size_t i = 0; i < incs.size(); i++) Materialize(incs[i].first, stored[i], incs[i].second);
  return Status::OK();
}

void WriteBuffer::Materialize(const std::string& key, const std::optional<std::string>& stored,
                              const Increment& inc) {
  Set(key, ApplyIncrement(stored, inc.deltas, inc.erase_at_zero));
}

Result<std::vector<KeyValue>> WriteBuffer::MergedScan(std::string_view begin, std::string_view end,
                                                      size_t limit, const Fetch& fetch) const {
  std::vector<KeyValue> out;
  if (limit == 0) return Status::InvalidArgument("scan limit must be > 0");
  if (!end.empty() && begin >= end) return out;
  std::string cursor(begin);
  while (out.size() < limit) {
    ASSIGN_OR_RETURN(std::vector<KeyValue> page, fetch(cursor, end, limit));
    const bool store_done = page.size() < limit;
    // The window this page speaks for: [cursor, hi) with hi just past the page's last key,
    // or the whole rest of the range when the store had no more.
    std::string hi = store_done ? std::string(end) : page.back().key + '\0';
    const bool unbounded = store_done && end.empty();
    auto w = writes_.lower_bound(cursor);
    auto in_window = [&](const std::string& k) { return unbounded || k < hi; };
    size_t p = 0;
    while (out.size() < limit) {
      bool have_w = w != writes_.end() && in_window(w->first);
      bool have_p = p < page.size();
      if (!have_w && !have_p) break;
      if (have_w && (!have_p || w->first <= page[p].key)) {
        if (have_p && w->first == page[p].key) p++;  // the pending write replaces it
        if (w->second) out.push_back({w->first, *w->second});
        ++w;
      } else {
        out.push_back(std::move(page[p++]));
      }
    }
    if (store_done) break;
    cursor = std::move(hi);
  }
  return out;
}

}  // namespace strata::kv

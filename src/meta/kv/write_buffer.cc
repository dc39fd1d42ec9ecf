#include "meta/kv/write_buffer.h"

namespace strata::kv {

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

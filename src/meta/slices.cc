// ResolveSlices (slices.h): replays a chunk's slice list in commit order over an ordered map of
// non-overlapping segments. Each slice cuts the segments it overlaps (keeping the parts to its
// left and right, with their stored-slice offsets shifted so trimming never changes which
// bytes are shown) and then takes its range. Cost O(n log n + cuts).
#include "meta/slices.h"

#include <algorithm>
#include <iterator>
#include <map>

namespace strata::meta {

namespace {

// Cuts every segment of `view` that overlaps [begin, end) so that nothing is left inside it.
void Carve(std::map<uint64_t, Segment>& view, uint64_t begin, uint64_t end) {
  auto it = view.lower_bound(begin);
  // The segment starting before `begin` may reach into the range.
  if (it != view.begin()) {
    auto prev = std::prev(it);
    Segment& s = prev->second;
    uint64_t s_end = uint64_t{s.pos} + s.len;
    if (s_end > begin) {
      if (s_end > end) {
        // The range sits strictly inside s: keep its right part as a new segment.
        Segment right = s;
        right.pos = static_cast<uint32_t>(end);
        right.off = s.off + static_cast<uint32_t>(end - s.pos);
        right.len = static_cast<uint32_t>(s_end - end);
        view.emplace(end, right);
      }
      s.len = static_cast<uint32_t>(begin - s.pos);
    }
  }
  while (it != view.end() && it->first < end) {
    Segment s = it->second;
    uint64_t s_end = uint64_t{s.pos} + s.len;
    it = view.erase(it);
    if (s_end > end) {
      s.off += static_cast<uint32_t>(end - s.pos);
      s.len = static_cast<uint32_t>(s_end - end);
      s.pos = static_cast<uint32_t>(end);
      view.emplace(end, s);
      break;
    }
  }
}

}  // namespace

std::vector<Segment> ResolveSlices(const std::vector<Slice>& slices) {
  std::map<uint64_t, Segment> view;
  for (const Slice& sl : slices) {
    if (sl.len == 0) continue;
    uint64_t begin = sl.pos;
    uint64_t end = begin + sl.len;
    Carve(view, begin, end);
    view.emplace(begin, Segment{sl.pos, sl.len, sl.id, sl.size, sl.off});
  }
  std::vector<Segment> out;
  out.reserve(view.size() * 2);
  // Holes (gaps and id-0 slices) are normalised to off 0, size len, and adjacent holes are
  // merged so that callers see one hole per zero range.
  auto append_hole = [&out](uint64_t pos, uint32_t len) {
    if (!out.empty() && out.back().id == 0 && uint64_t{out.back().pos} + out.back().len == pos) {
      out.back().len += len;
      out.back().size = out.back().len;
      return;
    }
    out.push_back(Segment{static_cast<uint32_t>(pos), len, 0, len, 0});
  };
  uint64_t cursor = 0;
  for (const auto& [pos, seg] : view) {
    if (pos > cursor) append_hole(cursor, static_cast<uint32_t>(pos - cursor));
    if (seg.id == 0) {
      append_hole(pos, seg.len);
    } else {
      out.push_back(seg);
    }
    cursor = pos + seg.len;
  }
  return out;
}

}  // namespace strata::meta

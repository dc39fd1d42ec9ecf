// Random file-data operations (writes, truncates, punch/zero ranges, copy_file_range between
// and within files) across a chunk boundary on every engine, checked after every step against
// a byte model of what a reader would see, and against the reference rule: each stored slice's
// count equals the number of records that point at it, and a slice nobody points at is garbage.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "meta/slices.h"
#include "tests/meta/file_helpers.h"
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class FilesModelTest : public MetaTest {};

// What a reader sees at one byte: byte `off` of stored slice `id`, or zero (id 0).
struct Byte {
  uint64_t id = 0;
  uint32_t off = 0;
  bool operator==(const Byte&) const = default;
};

constexpr uint64_t kBase = kChunkSize - 200;  // the window straddles chunks 0 and 1
constexpr uint64_t kSpan = 400;

struct ModelFile {
  Ino ino = 0;
  uint64_t length = 0;
  std::vector<Byte> bytes = std::vector<Byte>(kSpan);  // window [kBase, kBase + kSpan)
};

// The reader's view of the window, from the chunk lists.
std::vector<Byte> Observe(Meta& m, Ino ino) {
  std::vector<Byte> out(kSpan);
  for (uint32_t c = 0; c < 2; c++) {
    const uint64_t chunk_base = uint64_t{c} << kChunkBits;
    for (const Segment& g : View(m, ino, c)) {
      const uint64_t from = std::max(chunk_base + g.pos, kBase);
      const uint64_t to = std::min(chunk_base + g.pos + g.len, kBase + kSpan);
      for (uint64_t at = from; at < to; at++) {
        const uint64_t i = at - chunk_base - g.pos;
        out[at - kBase] = g.id ? Byte{g.id, static_cast<uint32_t>(g.off + i)} : Byte{};
      }
    }
  }
  return out;
}

TEST_P(FilesModelTest, RandomOperationsMatchByteModelAndReferenceRule) {
  std::mt19937_64 rng(GetParam().size() * 7919 + 17);
  ModelFile files[2];
  files[0].ino = MustCreate(kRootIno, "a");
  files[1].ino = MustCreate(kRootIno, "b");
  std::set<uint64_t> written;  // every stored slice ever written
  int compactions = 0;
  // The reference rule over every record of both files.
  auto check_refs = [&] {
    std::map<std::pair<uint64_t, uint32_t>, int64_t> records;
    for (ModelFile& m : files) {
      for (uint32_t c = 0; c < 2; c++) {
        auto list = meta().ReadChunk(m.ino, c);
        ASSERT_TRUE(list.ok()) << list.status().ToString();
        for (const Slice& s : *list) {
          if (s.id) records[{s.id, s.size}]++;
        }
      }
    }
    std::set<uint64_t> live;
    for (const auto& [key, count] : records) {
      live.insert(key.first);
      EXPECT_EQ(Refs(engine(), Slice{0, key.first, key.second, 0, 0}), count) << key.first;
    }
    std::set<uint64_t> dead;
    for (uint64_t id : written) {
      if (!live.count(id)) dead.insert(id);
    }
    EXPECT_EQ(Garbage(meta()), dead);
  };
  auto rand_off = [&](uint64_t span) { return kBase + rng() % span; };
  const int kSteps = GetParam() == "memkv" ? 600 : 250;
  for (int step = 0; step < kSteps; step++) {
    ModelFile& f = files[rng() % 2];
    const int op = static_cast<int>(rng() % 6);
    SCOPED_TRACE("step " + std::to_string(step) + " op " + std::to_string(op));
    if (op <= 1) {  // write, split at the chunk boundary as the data path does
      uint64_t off = rand_off(kSpan - 1);
      uint64_t end = std::min(kBase + kSpan, off + 1 + rng() % 120);
      while (off < end) {
        const uint64_t stop = std::min(end, ((off >> kChunkBits) + 1) << kChunkBits);
        Slice s = MustWrite(meta(), f.ino, static_cast<uint32_t>(off >> kChunkBits),
                            static_cast<uint32_t>(off & (kChunkSize - 1)),
                            static_cast<uint32_t>(stop - off));
        written.insert(s.id);
        for (uint64_t i = off; i < stop; i++) {
          f.bytes[i - kBase] = Byte{s.id, static_cast<uint32_t>(i - off)};
        }
        f.length = std::max(f.length, stop);
        off = stop;
      }
    } else if (op == 2) {  // truncate inside the window
      const uint64_t len = rand_off(kSpan);
      ASSERT_TRUE(meta().Truncate(Root(), f.ino, len).ok());
      for (uint64_t i = len; i < kBase + kSpan; i++) f.bytes[i - kBase] = Byte{};
      f.length = len;
    } else if (op == 3) {  // punch hole (keep size) or zero range (may extend)
      const uint64_t off = rand_off(kSpan - 1);
      const uint64_t len = 1 + rng() % (kBase + kSpan - off);
      const bool punch = rng() % 2;
      const uint32_t mode = punch ? (kFallocPunchHole | kFallocKeepSize) : kFallocZeroRange;
      ASSERT_TRUE(meta().Fallocate(Root(), f.ino, mode, off, len).ok());
      for (uint64_t i = off; i < off + len; i++) f.bytes[i - kBase] = Byte{};
      if (!punch) f.length = std::max(f.length, off + len);
    } else if (op == 4 && rng() % 2) {  // compaction of a prefix of one chunk's list
      const uint32_t c = static_cast<uint32_t>(rng() % 2);
      auto list = meta().ReadChunk(f.ino, c);
      ASSERT_TRUE(list.ok());
      if (list->empty()) continue;
      const size_t k = 1 + rng() % list->size();
      std::vector<Slice> prefix(list->begin(), list->begin() + static_cast<ptrdiff_t>(k));
      std::vector<Slice> rest(list->begin() + static_cast<ptrdiff_t>(k), list->end());
      auto segs = ResolveSlices(prefix);
      // The leading never-written gap is not part of the replacement.
      while (segs.front().id == 0 && segs.size() > 1) segs.erase(segs.begin());
      const uint32_t rpos = segs.front().pos;
      const uint32_t rend = segs.back().pos + segs.back().len;
      auto id = meta().NewSliceId();
      ASSERT_TRUE(id.ok());
      const Slice r{rpos, *id, rend - rpos, 0, rend - rpos};
      ASSERT_TRUE(meta().CompactChunk(f.ino, c, prefix, r).ok());
      written.insert(*id);
      compactions++;
      // Bytes of the replaced range that later records do not cover now come from r.
      const uint64_t chunk_base = uint64_t{c} << kChunkBits;
      const uint64_t from = std::max(chunk_base + rpos, kBase);
      const uint64_t to = std::min(chunk_base + rend, kBase + kSpan);
      for (uint64_t at = from; at < to; at++) {
        const uint64_t i = at - chunk_base;
        bool covered = false;
        for (const Slice& x : rest) covered |= i >= x.pos && i < uint64_t{x.pos} + x.len;
        if (!covered) f.bytes[at - kBase] = Byte{*id, static_cast<uint32_t>(i - rpos)};
      }
    } else {  // copy_file_range, between the files or within one (disjoint ranges)
      ModelFile& src = files[rng() % 2];
      const uint64_t soff = rand_off(kSpan - 1);
      const uint64_t doff = rand_off(kSpan - 1);
      uint64_t len = 1 + rng() % std::min(kBase + kSpan - soff, kBase + kSpan - doff);
      const bool same = &src == &f;
      auto n = meta().CopyFileRange(Root(), src.ino, soff, f.ino, doff, len);
      const uint64_t want = soff >= src.length ? 0 : std::min(len, src.length - soff);
      if (same && want > 0 && doff < soff + want && soff < doff + want) {
        EXPECT_EQ(n.code(), Code::kInvalidArgument);
        continue;
      }
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      ASSERT_EQ(*n, want);
      std::vector<Byte> snapshot = src.bytes;
      for (uint64_t i = 0; i < want; i++) {
        f.bytes[doff + i - kBase] = snapshot[soff + i - kBase];
      }
      if (want > 0) f.length = std::max(f.length, doff + want);
    }
    for (ModelFile& m : files) {
      ASSERT_EQ(MustGetAttr(m.ino).length, m.length);
      ASSERT_EQ(Observe(meta(), m.ino), m.bytes) << "ino " << m.ino;
    }
    check_refs();
    if (HasFailure()) return;
  }
  EXPECT_GT(compactions, 5);
  // Deleting both files leaves exactly every slice ever written as garbage.
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "a").ok());
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "b").ok());
  while (DeletedFiles(engine()) > 0) ASSERT_TRUE(meta().ProcessDeletedFiles(1).ok());
  EXPECT_EQ(Garbage(meta()), written);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_bytes, 0u);
}

STRATA_META_INSTANTIATE(FilesModelTest);

}  // namespace
}  // namespace strata::meta::testing

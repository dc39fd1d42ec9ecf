// scan.h: paginated range scans with skips, inode groups, and the slice table's merging.
#include "meta/scan.h"

#include <gtest/gtest.h>

#include "meta/kv/mem_kv.h"
#include "meta/schema.h"

namespace strata::meta::scan {
namespace {

std::shared_ptr<kv::KvEngine> Engine() {
  auto kv = kv::MemKv::Open();
  EXPECT_TRUE(kv.ok());
  return std::shared_ptr<kv::KvEngine>(std::move(*kv));
}

void Put(kv::KvEngine& e, const std::string& k, const std::string& v) {
  ASSERT_TRUE(kv::RunTxn(e, [&](kv::Transaction& txn) {
                txn.Put(k, v);
                return Status::OK();
              }).ok());
}

TEST(ScanTest, RangeVisitsEveryKeyAcrossPagesAndHonoursSkipsAndStop) {
  auto e = Engine();
  for (char c = 'a'; c <= 'j'; c++) Put(*e, std::string("k") + c, "");
  std::string seen;
  ASSERT_TRUE(ForEachInRange(
                  *e, "k", "l",
                  [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
                    seen += kv.key[1];
                    if (kv.key == "kb") return std::optional<std::string>("kf");
                    if (kv.key == "kh") return std::optional<std::string>("");
                    return std::optional<std::string>();
                  },
                  2)
                  .ok());
  EXPECT_EQ(seen, "abfgh");
}

TEST(ScanTest, InodeGroupsGatherRecordsAndSkipEntries) {
  auto e = Engine();
  Attr dir;
  dir.type = FileType::kDirectory;
  Put(*e, schema::AttrKey(1), schema::EncodeAttr(dir));
  for (int i = 0; i < 50; i++) {
    Put(*e, schema::EntryKey(1, "n" + std::to_string(i)),
        schema::EncodeEntry(FileType::kRegular, 2));
  }
  Put(*e, schema::AttrKey(2), schema::EncodeAttr(Attr{}));
  std::string list;
  schema::AppendSlice(&list, Slice{0, 7, 10, 0, 10});
  schema::AppendSlice(&list, Slice{10, 8, 10, 0, 10});
  Put(*e, schema::ChunkKey(2, 0), list);
  Put(*e, schema::ChunkKey(2, 3), list);
  Put(*e, schema::ChunkKey(3, 0), list);  // no attr
  std::vector<InodeGroup> groups;
  ASSERT_TRUE(ScanInodes(
                  *e,
                  [&](InodeGroup& g) {
                    groups.push_back(g);
                    return Status::OK();
                  },
                  4)
                  .ok());
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_TRUE(groups[0].has_entries);
  EXPECT_TRUE(groups[0].attr.has_value());
  EXPECT_EQ(groups[1].slices.size(), 4u);
  EXPECT_EQ(groups[1].chunk_lists, 2u);
  EXPECT_EQ(groups[1].last_chunk, 3u);
  EXPECT_FALSE(groups[2].attr.has_value());
  EXPECT_EQ(groups[2].chunk_lists, 1u);
}

TEST(ScanTest, SliceTableCountsReferencesAcrossMerges) {
  SliceTable t;
  for (int round = 0; round < 3; round++) {
    for (uint64_t id = 20000; id >= 1; id--) t.Add(id, 100, id, 1);
  }
  t.Add(5, 100, 1, 4);
  t.Add(0, 100, 1);  // a hole: not stored, not counted
  t.Finish();
  ASSERT_EQ(t.size(), 20000u);
  EXPECT_EQ(t.Find(5)->refs, 7u);
  EXPECT_EQ(t.Find(20000)->refs, 3u);
  EXPECT_EQ(t.Find(0), nullptr);
  EXPECT_EQ(t.Find(20001), nullptr);
  for (size_t i = 1; i < t.size(); i++) EXPECT_LT(t.entries()[i - 1].id, t.entries()[i].id);
}

}  // namespace
}  // namespace strata::meta::scan

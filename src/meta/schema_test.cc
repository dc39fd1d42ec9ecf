#include <gtest/gtest.h>

#include "meta/schema.h"

namespace strata::meta::schema {
namespace {

TEST(SchemaTest, AttrRoundTripKeepsEveryField) {
  Attr a;
  a.type = FileType::kCharDev;
  a.mode = 07755;
  a.uid = 1000;
  a.gid = 2000;
  a.atime = {-5, 1};
  a.mtime = {1700000000, 999999999};
  a.ctime = {1700000001, 7};
  a.nlink = 3;
  a.length = 1ULL << 40;
  a.rdev = 0x0801;
  a.parent = 0x1234567890ULL;
  a.flags = 9;
  auto back = DecodeAttr(EncodeAttr(a));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->type, a.type);
  EXPECT_EQ(back->mode, a.mode);
  EXPECT_EQ(back->uid, a.uid);
  EXPECT_EQ(back->gid, a.gid);
  EXPECT_EQ(back->atime, a.atime);
  EXPECT_EQ(back->mtime, a.mtime);
  EXPECT_EQ(back->ctime, a.ctime);
  EXPECT_EQ(back->nlink, a.nlink);
  EXPECT_EQ(back->length, a.length);
  EXPECT_EQ(back->rdev, a.rdev);
  EXPECT_EQ(back->parent, a.parent);
  EXPECT_EQ(back->flags, a.flags);
}

TEST(SchemaTest, DecodeAttrRejectsTruncatedOrUnknown) {
  std::string enc = EncodeAttr(Attr{});
  EXPECT_EQ(DecodeAttr(enc.substr(0, enc.size() - 1)).code(), Code::kCorruption);
  std::string v2 = enc;
  v2[0] = 2;
  EXPECT_EQ(DecodeAttr(v2).code(), Code::kCorruption);
  std::string badtype = enc;
  badtype[1] = 9;
  EXPECT_EQ(DecodeAttr(badtype).code(), Code::kCorruption);
}

TEST(SchemaTest, EntryKeysOfOneDirectorySortByNameInsideItsPrefix) {
  std::string p = EntryPrefix(7);
  std::string a = EntryKey(7, "a"), b = EntryKey(7, "b"), other = EntryKey(8, "a");
  EXPECT_EQ(a.rfind(p, 0), 0u);
  EXPECT_LT(a, b);
  EXPECT_LT(b, PrefixEnd(p));
  EXPECT_GE(other, PrefixEnd(p));
  // Big-endian inode numbers sort numerically.
  EXPECT_LT(EntryKey(255, "z"), EntryKey(256, "a"));
  Ino parent;
  std::string name;
  ASSERT_TRUE(ParseEntryKey(EntryKey(42, "hello"), &parent, &name));
  EXPECT_EQ(parent, 42u);
  EXPECT_EQ(name, "hello");
  EXPECT_FALSE(ParseEntryKey(AttrKey(42), &parent, &name));
}

TEST(SchemaTest, EntryValueRoundTripAndCorruption) {
  FileType t;
  Ino ino;
  ASSERT_TRUE(DecodeEntry(EncodeEntry(FileType::kSymlink, 99), &t, &ino).ok());
  EXPECT_EQ(t, FileType::kSymlink);
  EXPECT_EQ(ino, 99u);
  EXPECT_EQ(DecodeEntry("x", &t, &ino).code(), Code::kCorruption);
}

TEST(SchemaTest, SliceListAppendAndDecode) {
  std::string list;
  Slice s1{0, 5, 4096, 0, 4096}, s2{100, 6, 8192, 10, 20};
  AppendSlice(&list, s1);
  AppendSlice(&list, s2);
  EXPECT_EQ(list.size(), 48u);
  auto back = DecodeSlices(list);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0], s1);
  EXPECT_EQ((*back)[1], s2);
  EXPECT_EQ(DecodeSlices(list.substr(0, 47)).code(), Code::kCorruption);
}

TEST(SchemaTest, OtherKeysParseBack) {
  Ino ino;
  uint32_t chunk;
  ASSERT_TRUE(ParseChunkKey(ChunkKey(3, 17), &ino, &chunk));
  EXPECT_EQ(ino, 3u);
  EXPECT_EQ(chunk, 17u);
  uint64_t id;
  uint32_t size;
  ASSERT_TRUE(ParseSliceKey(SliceRefKey(77, 4096), &id, &size));
  EXPECT_EQ(id, 77u);
  EXPECT_EQ(size, 4096u);
  ASSERT_TRUE(ParseSliceKey(GarbageSliceKey(78, 1), &id, &size));
  EXPECT_EQ(id, 78u);
  uint64_t len;
  ASSERT_TRUE(ParseDeletedFileKey(DeletedFileKey(5, 1000), &ino, &len));
  EXPECT_EQ(len, 1000u);
  uint64_t sid;
  ASSERT_TRUE(ParseSustainedKey(SustainedKey(9, 10), &sid, &ino));
  EXPECT_EQ(sid, 9u);
  EXPECT_EQ(ino, 10u);
}

TEST(SchemaTest, I64CountersAreSignedAndTolerateEmpty) {
  EXPECT_EQ(DecodeI64(EncodeI64(-12345)), -12345);
  EXPECT_EQ(DecodeI64(EncodeI64(INT64_MAX)), INT64_MAX);
  EXPECT_EQ(DecodeI64(""), 0);
}

TEST(SchemaTest, PrefixEndHandlesFF) {
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), "");
}

}  // namespace
}  // namespace strata::meta::schema

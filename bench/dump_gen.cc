// strata_dump_gen META_URL N [FILES_PER_DIR]: formats an empty engine and writes a volume of N
// inodes straight through the KV (records exactly as the metadata core writes them: attrs,
// entries, one slice per file, directory usage, usage totals, id counters), in transactions
// of 1000 files, for measuring `strata dump` / `strata load` on large volumes (bench/RESULTS.md).
// The volume passes `strata fsck` metadata checks; its blocks do not exist (no store writes).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "meta/kv/kv.h"
#include "meta/kv/mem_kv.h"
#include "meta/meta.h"
#include "meta/schema.h"

using namespace strata;
namespace schema = meta::schema;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s META_URL N [FILES_PER_DIR]\n", argv[0]);
    return 2;
  }
  const uint64_t n = std::strtoull(argv[2], nullptr, 10);
  const uint64_t per_dir = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;
  kv::KvRegistry reg;
  kv::RegisterMemKv(reg);
  kv::RegisterSqliteKv(reg);
  kv::RegisterRedisKv(reg);
  auto engine = reg.Open(argv[1]);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    return 1;
  }
  meta::VolumeFormat f;
  f.name = "gen";
  f.uuid = "gen-uuid";
  f.storage_url = "file:///tmp/strata-gen-data";
  f.trash_days = 0;
  if (Status s = meta::Meta::Format(**engine, f, false); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const meta::Timespec now{1700000000, 0};
  meta::Attr root;
  root.type = meta::FileType::kDirectory;
  root.mode = 0755;
  root.atime = root.mtime = root.ctime = now;
  root.length = 4096;
  root.parent = meta::kRootIno;
  const uint64_t dirs = (n + per_dir) / (per_dir + 1);
  root.nlink = 2 + static_cast<uint32_t>(dirs);
  uint64_t ino = 2, slice = 1, files = 0;
  int64_t bytes = 0;
  std::vector<kv::KeyValue> batch;
  auto flush = [&]() -> Status {
    Status s = kv::RunTxn(**engine, [&](kv::Transaction& t) {
      for (const auto& p : batch) t.Put(p.key, p.value);
      return Status::OK();
    });
    batch.clear();
    return s;
  };
  uint64_t made = 0;
  for (uint64_t d = 0; d < dirs && made < n; d++) {
    const meta::Ino dir = ino++;
    made++;
    meta::Attr da = root;
    da.nlink = 2;
    da.parent = meta::kRootIno;
    batch.push_back({schema::AttrKey(dir), schema::EncodeAttr(da)});
    batch.push_back({schema::EntryKey(meta::kRootIno, "d" + std::to_string(d)),
                     schema::EncodeEntry(meta::FileType::kDirectory, dir)});
    int64_t dir_bytes = 0, dir_inodes = 0;
    for (uint64_t i = 0; i < per_dir && made < n; i++, made++) {
      const meta::Ino fi = ino++;
      meta::Attr fa;
      fa.type = meta::FileType::kRegular;
      fa.mode = 0644;
      fa.atime = fa.mtime = fa.ctime = now;
      const uint32_t len = 100 + static_cast<uint32_t>(fi % 4000);
      fa.length = len;
      fa.parent = dir;
      batch.push_back({schema::AttrKey(fi), schema::EncodeAttr(fa)});
      batch.push_back({schema::EntryKey(dir, "file-" + std::to_string(i)),
                       schema::EncodeEntry(meta::FileType::kRegular, fi)});
      std::string list;
      schema::AppendSlice(&list, meta::Slice{0, slice++, len, 0, len});
      batch.push_back({schema::ChunkKey(fi, 0), list});
      dir_bytes += len;
      dir_inodes++;
      files++;
      if (batch.size() >= 3000) {
        if (Status s = flush(); !s.ok()) {
          std::fprintf(stderr, "%s\n", s.ToString().c_str());
          return 1;
        }
      }
    }
    std::string usage = schema::EncodeI64(dir_bytes) + schema::EncodeI64(dir_inodes);
    batch.push_back({schema::UsageKey(dir), usage});
    bytes += dir_bytes;
  }
  root.nlink = 2 + static_cast<uint32_t>(ino - 2 - files);
  batch.push_back({schema::AttrKey(meta::kRootIno), schema::EncodeAttr(root)});
  batch.push_back(
      {schema::UsageKey(meta::kRootIno),
       schema::EncodeI64(0) + schema::EncodeI64(static_cast<int64_t>(ino - 2 - files))});
  auto u64 = [](uint64_t v) {
    std::string s;
    PutU64BE(&s, v);
    return s;
  };
  batch.push_back({schema::CounterKey("nextInode"), u64(ino)});
  batch.push_back({schema::CounterKey("nextSlice"), u64(slice)});
  batch.push_back({schema::CounterKey("usedSpace/0"), schema::EncodeI64(bytes)});
  batch.push_back(
      {schema::CounterKey("usedInodes/0"), schema::EncodeI64(static_cast<int64_t>(ino - 2))});
  if (Status s = flush(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("generated %llu inodes (%llu files) on %s\n",
              static_cast<unsigned long long>(ino - 2), static_cast<unsigned long long>(files),
              (*engine)->Describe().c_str());
  return 0;
}

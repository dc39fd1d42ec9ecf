// strata_data_bench: the data path (ChunkStore: writer, uploads, commits, reader, readahead)
// without FUSE, on a real Meta and a real object store.
//
//   strata_data_bench [--mib N] [--small N] [--dir DIR]
//
// For each store (mem://, file://DIR/store) and metadata engine (memkv://, sqlite3://DIR/...):
//   seq write/read 1 file   N MiB written in 1 MiB writes then Flush (close), then read back
//                           through a fresh client (cold cache) in 1 MiB reads with readahead;
//   seq write/read 4 files  the same N MiB as 4 files of N/4 MiB, one thread per file;
//   small files 1/4 thr     create (Mknod) + write 4 KiB + Flush, per file.
// Throughput is bytes (or files) over wall time of the whole phase, the Flush included.
// Default N = 1024, small = 2000.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chunk/chunk_store.h"
#include "meta/kv/kv.h"
#include "meta/meta.h"
#include "object/registry.h"

namespace strata {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = 1 << 20;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

[[noreturn]] void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "data_bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}

std::string Pattern(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  return s;
}

struct Volume {
  std::shared_ptr<kv::KvEngine> kv;
  std::unique_ptr<meta::Meta> meta;
  std::shared_ptr<object::ObjectStore> store;
  chunk::ChunkOptions options;
};

Volume MakeVolume(const std::string& meta_url, const std::string& store_url) {
  kv::KvRegistry kvs;
  kv::RegisterMemKv(kvs);
  kv::RegisterSqliteKv(kvs);
  object::StoreRegistry stores;
  object::RegisterLocalStores(stores);
  Volume v;
  auto engine = kvs.Open(meta_url);
  if (!engine.ok()) Die("open " + meta_url, engine.status());
  v.kv = *engine;
  meta::VolumeFormat f;
  f.name = "bench";
  f.storage_url = store_url;
  f.trash_days = 0;
  if (Status st = meta::Meta::Format(*v.kv, f, false); !st.ok()) Die("format", st);
  meta::MetaOptions mo;
  mo.background_jobs = false;
  auto m = meta::Meta::Open(v.kv, mo);
  if (!m.ok()) Die("meta", m.status());
  v.meta = std::move(*m);
  auto s = stores.Open(store_url);
  if (!s.ok()) Die("open " + store_url, s.status());
  v.store = *s;
  auto o = chunk::ChunkOptions::FromFormat(v.meta->format());
  if (!o.ok()) Die("options", o.status());
  v.options = *o;
  v.options.background_jobs = false;
  return v;
}

std::unique_ptr<chunk::ChunkStore> Client(Volume& v) {
  auto cs = chunk::ChunkStore::Open(v.meta.get(), v.store, v.options);
  if (!cs.ok()) Die("chunk store", cs.status());
  return std::move(*cs);
}

meta::Ino NewFile(Volume& v, const std::string& name) {
  auto e = v.meta->Mknod(meta::Context{}, meta::kRootIno, name, meta::FileType::kRegular, 0644, 0);
  if (!e.ok()) Die("mknod " + name, e.status());
  return e->ino;
}

// Writes `files` files of total_mib MiB together (one thread each), then reads them back
// through a fresh client. Prints one line per direction.
void Sequential(Volume& v, const std::string& label, uint64_t total_mib, int files) {
  const uint64_t per_file = total_mib * kMiB / files;
  const std::string buf = Pattern(kMiB, 7);
  std::vector<meta::Ino> inos;
  for (int i = 0; i < files; i++) {
    inos.push_back(NewFile(v, "seq" + std::to_string(files) + "_" + std::to_string(i)));
  }
  auto run = [&](auto fn) {
    std::vector<std::thread> ts;
    auto t0 = Clock::now();
    for (int i = 0; i < files; i++) ts.emplace_back([&, i] { fn(i); });
    for (auto& t : ts) t.join();
    return Since(t0);
  };
  {
    auto cs = Client(v);
    double secs = run([&](int i) {
      for (uint64_t off = 0; off < per_file; off += kMiB) {
        if (Status st = cs->Write(inos[i], off, buf); !st.ok()) Die("write", st);
      }
      if (Status st = cs->Flush(inos[i]); !st.ok()) Die("flush", st);
    });
    std::printf("| %-28s | write %d file%s | %6lu MiB | %8.1f MiB/s |\n", label.c_str(), files,
                files > 1 ? "s" : " ", static_cast<unsigned long>(total_mib), total_mib / secs);
  }
  {
    auto cs = Client(v);  // cold cache
    double secs = run([&](int i) {
      chunk::ReadState state;
      for (uint64_t off = 0; off < per_file; off += kMiB) {
        auto r = cs->Read(inos[i], off, kMiB, per_file, &state);
        if (!r.ok()) Die("read", r.status());
        if (r->size() != kMiB || std::memcmp(r->data(), buf.data(), 64) != 0) {
          Die("read", Status::Corruption("read back different bytes"));
        }
      }
    });
    std::printf("| %-28s | read  %d file%s | %6lu MiB | %8.1f MiB/s |\n", label.c_str(), files,
                files > 1 ? "s" : " ", static_cast<unsigned long>(total_mib), total_mib / secs);
  }
}

void SmallFiles(Volume& v, const std::string& label, int count, int threads) {
  const std::string data = Pattern(4096, 9);
  auto cs = Client(v);
  std::vector<std::thread> ts;
  auto t0 = Clock::now();
  for (int t = 0; t < threads; t++) {
    ts.emplace_back([&, t] {
      for (int i = t; i < count; i += threads) {
        meta::Ino ino = NewFile(v, "small" + std::to_string(threads) + "_" + std::to_string(i));
        if (Status st = cs->Write(ino, 0, data); !st.ok()) Die("write", st);
        if (Status st = cs->Flush(ino); !st.ok()) Die("flush", st);
      }
    });
  }
  for (auto& t : ts) t.join();
  double secs = Since(t0);
  std::printf("| %-28s | 4 KiB files, %d thr | %6d files | %8.0f files/s |\n", label.c_str(),
              threads, count, count / secs);
}

}  // namespace
}  // namespace strata

int main(int argc, char** argv) {
  uint64_t mib = 1024;
  int small = 2000;
  std::string dir = "/tmp/strata-data-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--mib") {
      mib = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (a == "--small") {
      small = std::atoi(argv[i + 1]);
    } else if (a == "--dir") {
      dir = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: strata_data_bench [--mib N] [--small N] [--dir DIR]\n");
      return 2;
    }
  }
  namespace fs = std::filesystem;
  std::printf("| store + metadata | phase | size | throughput |\n|---|---|---|---|\n");
  int run = 0;
  for (const std::string store : {"mem", "file"}) {
    for (const std::string meta : {"memkv", "sqlite"}) {
      std::string d = dir + "/" + std::to_string(run++);
      fs::remove_all(d);
      fs::create_directories(d);
      std::string store_url = store == "mem" ? "mem://bench" : "file://" + d + "/store";
      std::string meta_url = meta == "memkv" ? "memkv://" : "sqlite3://" + d + "/meta.db";
      std::string label = store + ":// + " + meta;
      {
        strata::Volume v = strata::MakeVolume(meta_url, store_url);
        strata::Sequential(v, label, mib, 1);
        strata::Sequential(v, label, mib, 4);
        strata::SmallFiles(v, label, small, 1);
        strata::SmallFiles(v, label, small, 4);
      }
      std::fflush(stdout);
      fs::remove_all(d);
    }
  }
  return 0;
}

// Test support for chunk/ tests: a real volume in memory — Meta on memkv and a mem:// store
// (optionally behind a FaultyStore) — plus helpers to list block objects and make data.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "chunk/block_key.h"
#include "chunk/chunk_store.h"
#include "meta/kv/mem_kv.h"
#include "meta/meta.h"
#include "object/faulty_store.h"
#include "object/mem_store.h"

namespace strata::chunk::testing {

// A store wrapper whose Put (and Sync) first calls a hook with the key(s) and options: tests
// use it to record what was stored or made durable how, to hold an upload back, or to act
// between two steps of the code under test. Everything else reaches the target unchanged.
class HookStore : public object::ObjectStoreWrapper {
 public:
  using Hook = std::function<void(const std::string& key, const object::PutOptions& opts)>;
  using SyncHook = std::function<void(const std::vector<std::string>& keys)>;
  using ObjectStoreWrapper::ObjectStoreWrapper;
  void SetPutHook(Hook hook) {
    std::lock_guard lock(mu_);
    hook_ = std::move(hook);
  }
  void SetSyncHook(SyncHook hook) {
    std::lock_guard lock(mu_);
    sync_hook_ = std::move(hook);
  }
  Status Sync(const std::vector<std::string>& keys) override {
    SyncHook hook;
    {
      std::lock_guard lock(mu_);
      hook = sync_hook_;
    }
    if (hook) hook(keys);
    return ObjectStoreWrapper::Sync(keys);
  }
  Status Put(const std::string& key, std::string_view data,
             const object::PutOptions& opts) override {
    Hook hook;
    {
      std::lock_guard lock(mu_);
      hook = hook_;
    }
    if (hook) hook(key, opts);
    return ObjectStoreWrapper::Put(key, data, opts);
  }

 private:
  std::mutex mu_;
  Hook hook_;
  SyncHook sync_hook_;
};

struct VolumeSpec {
  uint32_t block_size = 1 << 20;
  std::string compression = "none";
  uint64_t capacity_bytes = 0;
};

class TestVolume {
 public:
  explicit TestVolume(VolumeSpec spec = {}) {
    kv_ = std::shared_ptr<kv::KvEngine>(std::move(*kv::MemKv::Open()));
    meta::VolumeFormat f;
    f.name = "vol";
    f.storage_url = "mem://";
    f.block_size = spec.block_size;
    f.compression = spec.compression;
    f.trash_days = 0;
    f.capacity_bytes = spec.capacity_bytes;
    EXPECT_TRUE(meta::Meta::Format(*kv_, f, false).ok());
    meta::MetaOptions mo;
    mo.background_jobs = false;
    auto m = meta::Meta::Open(kv_, mo);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    meta_ = std::move(*m);
    mem_ = std::shared_ptr<object::ObjectStore>(object::MemStore::Open("test"));
    faulty_ = std::shared_ptr<object::FaultyStore>(object::FaultyStore::Open(mem_, {}));
  }

  meta::Meta* meta() { return meta_.get(); }
  object::ObjectStore* mem() { return mem_.get(); }
  std::shared_ptr<object::ObjectStore> mem_shared() { return mem_; }
  object::FaultyStore* faulty() { return faulty_.get(); }
  std::shared_ptr<object::ObjectStore> faulty_shared() { return faulty_; }

  // Options for this volume with small, test-friendly limits.
  ChunkOptions Options() {
    auto o = ChunkOptions::FromFormat(meta_->format());
    EXPECT_TRUE(o.ok());
    o->cache.memory_size = 64 << 20;
    o->background_jobs = false;
    return *o;
  }

  std::unique_ptr<ChunkStore> Open(const ChunkOptions& o) { return OpenOn(faulty_, o); }
  // A client whose store is `store` (a wrapper around mem_shared(), say).
  std::unique_ptr<ChunkStore> OpenOn(std::shared_ptr<object::ObjectStore> store,
                                     const ChunkOptions& o) {
    auto cs = ChunkStore::Open(meta_.get(), std::move(store), o);
    EXPECT_TRUE(cs.ok()) << cs.status().ToString();
    return cs.ok() ? std::move(*cs) : nullptr;
  }
  std::unique_ptr<ChunkStore> Open() { return Open(Options()); }

  meta::Ino NewFile(const std::string& name) {
    auto e = meta_->Mknod(meta::Context{}, meta::kRootIno, name, meta::FileType::kRegular, 0644, 0);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? e->ino : 0;
  }

  uint64_t Length(meta::Ino ino) {
    auto a = meta_->GetAttr(ino);
    EXPECT_TRUE(a.ok());
    return a.ok() ? a->length : 0;
  }

  // Every block object in the store, in key order.
  std::vector<std::string> BlockObjects() {
    std::vector<std::string> keys;
    object::ListOptions lo;
    lo.prefix = "vol/chunks/";
    for (;;) {
      auto page = mem_->List(lo);
      EXPECT_TRUE(page.ok());
      if (!page.ok()) break;
      for (auto& o : page->objects) keys.push_back(o.key);
      if (!page->truncated) break;
      lo.continuation = page->next_continuation;
    }
    return keys;
  }

  // The whole file through `cs` (committed + pending).
  std::string ReadAll(ChunkStore& cs, meta::Ino ino) {
    uint64_t len = std::max(Length(ino), cs.PendingEnd(ino));
    auto r = cs.Read(ino, 0, len, Length(ino), nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : "";
  }

 private:
  std::shared_ptr<kv::KvEngine> kv_;
  std::unique_ptr<meta::Meta> meta_;
  std::shared_ptr<object::ObjectStore> mem_;
  std::shared_ptr<object::FaultyStore> faulty_;
};

inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    memcpy(&s[i], &v, 8);
  }
  for (; i < n; i++) s[i] = static_cast<char>(rng());
  return s;
}

}  // namespace strata::chunk::testing

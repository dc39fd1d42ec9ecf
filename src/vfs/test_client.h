// Test support for vfs tests: a Volume opened the way users get one, through the composition
// root (client::Client), on an engine the test keeps (so several clients can share one
// in-process memkv, as several mounts share one server). Not part of the library.
#pragma once

#include <cstddef>
#include <memory>

#include "client/client.h"

namespace strata::vfs::testing {

// Owns a Client and reads like a pointer to its Volume.
class TestClient {
 public:
  TestClient() = default;
  explicit TestClient(std::unique_ptr<client::Client> c) : c_(std::move(c)) {}
  Volume* operator->() const { return &c_->volume(); }
  Volume& operator*() const { return c_->volume(); }
  Volume* get() const { return c_ ? &c_->volume() : nullptr; }
  client::Client* client() const { return c_.get(); }
  explicit operator bool() const { return c_ != nullptr; }
  bool operator==(std::nullptr_t) const { return c_ == nullptr; }
  void reset() { c_.reset(); }

 private:
  std::unique_ptr<client::Client> c_;
};

// Background jobs off (tests drive them); the store named in the volume's format, opened
// from `registries` (default: the built-in ones).
inline Result<TestClient> OpenTestClient(std::shared_ptr<kv::KvEngine> engine,
                                         const VolumeOptions& vo = {},
                                         const client::Registries* registries = nullptr,
                                         const meta::MetaOptions& mo = {}) {
  static const client::Registries* builtins = [] {
    auto* r = new client::Registries;
    client::RegisterBuiltins(*r);
    return r;
  }();
  if (registries == nullptr) registries = builtins;
  client::ClientOptions o;
  o.meta_url = "memkv://";
  o.volume = vo;
  o.meta = mo;
  o.background_jobs = false;
  ASSIGN_OR_RETURN(auto c, client::Client::OpenOnEngine(std::move(engine), *registries, o));
  return TestClient(std::move(c));
}

}  // namespace strata::vfs::testing

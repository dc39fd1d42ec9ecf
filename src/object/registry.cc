#include "object/registry.h"

#include <mutex>

#include "object/file_store.h"
#include "object/mem_store.h"

namespace strata::object {

void StoreRegistry::Register(const std::string& scheme, StoreFactory factory) {
  factories_[scheme] = std::move(factory);
}

Result<std::shared_ptr<ObjectStore>> StoreRegistry::Open(const std::string& url,
                                                         const StoreOptions& opts) const {
  Result<Uri> uri = ParseUri(url);
  if (!uri.ok()) return uri.status().WithContext("storage URL");
  auto it = factories_.find(uri->scheme);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& [scheme, factory] : factories_) {
      known += known.empty() ? "" : ", ";
      known += scheme + "://";
    }
    return Status::InvalidArgument("unknown storage scheme '" + uri->scheme + "://' in " +
                                   uri->Masked() +
                                   " (known: " + (known.empty() ? "none registered" : known) + ")");
  }
  return it->second(*uri, opts);
}

namespace {
// The named mem:// stores of one registry: "mem://NAME" opened twice gives one instance.
struct NamedMemStores {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<MemStore>> stores;  // guarded by mu
};
}  // namespace

void RegisterLocalStores(StoreRegistry& registry) {
  registry.Register(
      "file", [](const Uri& uri, const StoreOptions&) -> Result<std::shared_ptr<ObjectStore>> {
        if (!uri.host.empty()) {
          return Status::InvalidArgument(
              "file:// URL needs an absolute path (file:///dir), got "
              "host '" +
              uri.host + "'");
        }
        if (uri.path.empty()) return Status::InvalidArgument("file:// URL has no directory");
        ASSIGN_OR_RETURN(std::unique_ptr<FileStore> store, FileStore::Open(uri.path));
        return std::shared_ptr<ObjectStore>(std::move(store));
      });
  auto named = std::make_shared<NamedMemStores>();
  registry.Register(
      "mem", [named](const Uri& uri, const StoreOptions&) -> Result<std::shared_ptr<ObjectStore>> {
        std::string name = uri.host + uri.path;
        if (name.empty()) return std::shared_ptr<ObjectStore>(MemStore::Open());
        std::lock_guard lock(named->mu);
        std::shared_ptr<MemStore>& slot = named->stores[name];
        if (!slot) slot = MemStore::Open(name);
        return std::shared_ptr<ObjectStore>(slot);
      });
}

}  // namespace strata::object

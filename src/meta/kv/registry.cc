// KvRegistry (kv.h): opens a KvEngine from a metadata URL by its scheme.
#include <algorithm>

#include "common/uri.h"
#include "meta/kv/kv.h"

namespace strata::kv {

void KvRegistry::Register(const std::string& scheme, KvFactory factory) {
  for (auto& [s, f] : factories_) {
    if (s == scheme) {
      f = std::move(factory);  // re-registering replaces: keeps Register idempotent
      return;
    }
  }
  factories_.emplace_back(scheme, std::move(factory));
}

Result<std::shared_ptr<KvEngine>> KvRegistry::Open(const std::string& url) const {
  RETURN_IF_ERROR(Check(url));
  auto uri = ParseUri(url);
  for (const auto& [scheme, factory] : factories_) {
    if (scheme == uri->scheme) return factory(url);
  }
  return Status::Internal("engine vanished from the registry");
}

Status KvRegistry::Check(const std::string& url) const {
  auto uri = ParseUri(url);
  if (!uri.ok()) return uri.status().WithContext("metadata URL");
  for (const auto& [scheme, factory] : factories_) {
    if (scheme == uri->scheme) return Status::OK();
  }
  std::vector<std::string> known;
  for (const auto& [scheme, factory] : factories_) known.push_back(scheme + "://");
  std::sort(known.begin(), known.end());
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  return Status::InvalidArgument("unknown metadata engine '" + uri->scheme + "://' in " +
                                 uri->Masked() +
                                 " (known: " + (list.empty() ? "none registered" : list) + ")");
}

}  // namespace strata::kv

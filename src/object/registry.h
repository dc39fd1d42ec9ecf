// StoreRegistry: opens an ObjectStore from a storage URL by scheme. Backends are added by
// explicit Register*() calls from main (and from tests), never by static initialisers.
//
// Thread-safety: register everything before the first Open(); Open() may then be called
// from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "common/uri.h"
#include "object/object_store.h"

namespace strata::object {

// Everything a backend may need beyond the URL. Empty credential fields fall back to the
// standard environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_REGION/AWS_DEFAULT_REGION) inside the backend.
struct StoreOptions {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string region;             // default "us-east-1" when neither flag nor env says
  std::string credentials_file;   // "ACCESS:SECRET" or an AWS-style [default] ini file
  int connect_timeout_ms = 5000;  // bounded: an unreachable endpoint fails, never hangs
  int request_timeout_ms = 60000;
  int max_connections = 64;       // connection pool size
};

using StoreFactory =
    std::function<Result<std::shared_ptr<ObjectStore>>(const Uri&, const StoreOptions&)>;

class StoreRegistry {
 public:
  // REQUIRES: scheme lower-case and not registered yet.
  void Register(const std::string& scheme, StoreFactory factory);
  // kInvalidArgument for a malformed URL or an unknown scheme (the message lists known ones).
  Result<std::shared_ptr<ObjectStore>> Open(const std::string& url,
                                            const StoreOptions& opts = {}) const;

 private:
  std::map<std::string, StoreFactory> factories_;
};

// file:// and mem:// (object/file, object/mem).
void RegisterLocalStores(StoreRegistry& registry);
// s3:// http:// https:// (object/s3). Declared here, defined in strata_object_s3.
void RegisterS3Stores(StoreRegistry& registry);

}  // namespace strata::object

// Gateway users, their grants and the public prefixes, kept in the volume's metadata as
// front-end records (Meta::GetRecord..., docs/format/meta-schema.md "Front-end records"):
// `gateway/user/{NAME}` (JSON) and `gateway/public/{BUCKET}/{PREFIX}`. The access key of a
// user is its name. The root user (the gateway's --access-key/--secret-key) is not stored: it
// reaches everything.
//
// UserStore serves the gateway's lookups from a snapshot of every record, reloaded at most
// once per `refresh` (one range scan), so a request costs no metadata round trip; a user
// removed with `strata gateway user remove` loses access within that interval (1 s default).
//
// Thread-safety: UserStore is thread-safe (one mutex around the snapshot; the reload runs
// outside it). The admin functions are one transaction each.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "meta/meta.h"

namespace strata::gateway {

struct Grant {
  std::string bucket;
  std::string prefix;  // "" (the whole bucket) or a key prefix ending in '/'
  bool read_only = false;
};

struct User {
  std::string name;  // also the access key
  std::string secret;
  std::vector<Grant> grants;
  bool root = false;  // the gateway's own credentials: every bucket, read-write
};

// "BUCKET" or "BUCKET/PREFIX" (PREFIX a directory: a '/' is added when missing).
// kInvalidArgument for an empty bucket, '..'/'.' or empty segments.
Result<Grant> ParseGrant(const std::string& spec, bool read_only);
std::string GrantString(const Grant& g);  // "bucket/prefix/ (ro)"

// A user name (the access key): 1-64 characters of [A-Za-z0-9_.-].
Status ValidateUserName(const std::string& name);
// 40 characters from a CSPRNG (OpenSSL RAND_bytes), base62.
std::string GenerateSecret();

std::string EncodeUser(const User& u);
Result<User> DecodeUser(const std::string& json);

// ---- Administration (strata gateway user|public ...).
// kAlreadyExists when the user exists (use remove first).
Status AddUser(meta::Meta& meta, const User& user);
Status RemoveUser(meta::Meta& meta, const std::string& name);  // kNotFound
Result<std::vector<User>> ListUsers(meta::Meta& meta);
Status AddPublic(meta::Meta& meta, const Grant& prefix);
Status RemovePublic(meta::Meta& meta, const Grant& prefix);  // kNotFound
Result<std::vector<Grant>> ListPublic(meta::Meta& meta);

class UserStore {
 public:
  UserStore(meta::Meta* meta, Clock* clock, User root,
            std::chrono::milliseconds refresh = std::chrono::milliseconds(1000));
  // The user with this access key (the root user included), or nullopt.
  std::optional<User> Find(const std::string& access_key);
  // True when an anonymous GET/HEAD of bucket/key is allowed (a public prefix covers it).
  bool IsPublic(const std::string& bucket, const std::string& key);

 private:
  struct Snapshot {
    std::vector<User> users;
    std::vector<Grant> public_prefixes;
  };
  std::shared_ptr<const Snapshot> Current();

  meta::Meta* const meta_;
  Clock* const clock_;
  const User root_;
  const std::chrono::milliseconds refresh_;
  std::mutex mu_;
  std::shared_ptr<const Snapshot> snap_;  // guarded by mu_
  int64_t loaded_at_ms_ = 0;              // guarded by mu_ (monotonic)
  bool loading_ = false;                  // guarded by mu_
};

}  // namespace strata::gateway

#include "gateway/users.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "common/logging.h"

namespace strata::gateway {
namespace {

constexpr char kUserPrefix[] = "gateway/user/";
constexpr char kPublicPrefix[] = "gateway/public/";

bool BadSegment(const std::string& s) { return s.empty() || s == "." || s == ".."; }

// True when `key` is inside grant `g`'s prefix (bucket compared by the caller).
bool Covers(const Grant& g, const std::string& key) { return key.rfind(g.prefix, 0) == 0; }

}  // namespace

Result<Grant> ParseGrant(const std::string& spec, bool read_only) {
  Grant g;
  g.read_only = read_only;
  size_t slash = spec.find('/');
  g.bucket = spec.substr(0, slash);
  if (BadSegment(g.bucket) || g.bucket[0] == '.') {
    return Status::InvalidArgument("bad bucket in '" + spec + "' (want BUCKET[/PREFIX])");
  }
  if (slash != std::string::npos) g.prefix = spec.substr(slash + 1);
  if (!g.prefix.empty() && g.prefix.back() != '/') g.prefix += '/';
  if (!g.prefix.empty()) {
    std::string p = g.prefix.substr(0, g.prefix.size() - 1);
    size_t pos = 0;
    while (true) {
      size_t next = p.find('/', pos);
      std::string seg = p.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      if (BadSegment(seg) || seg.find('\0') != std::string::npos) {
        return Status::InvalidArgument("bad prefix in '" + spec +
                                       "' (no empty, '.' or '..' segments)");
      }
      if (next == std::string::npos) break;
      pos = next + 1;
    }
  }
  return g;
}

std::string GrantString(const Grant& g) {
  return g.bucket + "/" + g.prefix + (g.read_only ? " (read-only)" : " (read-write)");
}

Status ValidateUserName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return Status::InvalidArgument("a user name has 1 to 64 characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("a user name has only letters, digits, '_', '.' and '-': " +
                                     name);
    }
  }
  return Status::OK();
}

std::string GenerateSecret() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  while (out.size() < 40) {
    unsigned char buf[64];
    if (RAND_bytes(buf, sizeof(buf)) != 1) continue;
    for (unsigned char b : buf) {
      if (b < 248 && out.size() < 40) out.push_back(kAlphabet[b % 62]);  // 248 = 4*62: unbiased
    }
  }
  return out;
}

std::string EncodeUser(const User& u) {
  nlohmann::json j;
  j["v"] = 1;
  j["name"] = u.name;
  j["secret"] = u.secret;
  j["grants"] = nlohmann::json::array();
  for (const Grant& g : u.grants) {
    j["grants"].push_back({{"bucket", g.bucket}, {"prefix", g.prefix}, {"read_only", g.read_only}});
  }
  return j.dump();
}

Result<User> DecodeUser(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("v", 0) != 1) {
    return Status::Corruption("undecodable gateway user record");
  }
  User u;
  u.name = j.value("name", "");
  u.secret = j.value("secret", "");
  if (j.contains("grants") && j["grants"].is_array()) {
    for (const auto& g : j["grants"]) {
      if (!g.is_object()) continue;
      u.grants.push_back(
          Grant{g.value("bucket", ""), g.value("prefix", ""), g.value("read_only", true)});
    }
  }
  if (u.name.empty() || u.secret.empty()) return Status::Corruption("gateway user without name");
  return u;
}

Status AddUser(meta::Meta& meta, const User& user) {
  RETURN_IF_ERROR(ValidateUserName(user.name));
  ASSIGN_OR_RETURN(auto old, meta.GetRecord(kUserPrefix + user.name));
  if (old) return Status::AlreadyExists("user " + user.name + " exists (remove it first)");
  return meta.PutRecord(kUserPrefix + user.name, EncodeUser(user));
}

Status RemoveUser(meta::Meta& meta, const std::string& name) {
  Status s = meta.DeleteRecord(kUserPrefix + name);
  if (s.Is(Code::kNotFound)) return Status::NotFound("no gateway user " + name);
  return s;
}

Result<std::vector<User>> ListUsers(meta::Meta& meta) {
  ASSIGN_OR_RETURN(auto records, meta.ListRecords(kUserPrefix));
  std::vector<User> out;
  for (const auto& [name, value] : records) {
    auto u = DecodeUser(value);
    if (!u.ok()) {
      LOG_WARN("gateway: skipping record {}: {}", name, u.status().ToString());
      continue;
    }
    out.push_back(std::move(*u));
  }
  return out;
}

Status AddPublic(meta::Meta& meta, const Grant& prefix) {
  return meta.PutRecord(kPublicPrefix + prefix.bucket + "/" + prefix.prefix, "");
}

Status RemovePublic(meta::Meta& meta, const Grant& prefix) {
  Status s = meta.DeleteRecord(kPublicPrefix + prefix.bucket + "/" + prefix.prefix);
  if (s.Is(Code::kNotFound)) {
    return Status::NotFound("not public: " + prefix.bucket + "/" + prefix.prefix);
  }
  return s;
}

Result<std::vector<Grant>> ListPublic(meta::Meta& meta) {
  ASSIGN_OR_RETURN(auto records, meta.ListRecords(kPublicPrefix));
  std::vector<Grant> out;
  for (const auto& rec : records) {
    std::string spec = rec.first.substr(sizeof(kPublicPrefix) - 1);
    size_t slash = spec.find('/');
    if (slash == std::string::npos) continue;
    out.push_back(Grant{spec.substr(0, slash), spec.substr(slash + 1), true});
  }
  return out;
}

UserStore::UserStore(meta::Meta* meta, Clock* clock, User root, std::chrono::milliseconds refresh)
    : meta_(meta), clock_(clock), root_(std::move(root)), refresh_(refresh) {}

std::shared_ptr<const UserStore::Snapshot> UserStore::Current() {
  const int64_t now_ms = clock_->MonotonicNanos() / 1000000;
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool fresh = snap_ && now_ms - loaded_at_ms_ < refresh_.count();
    // One thread reloads; the others go on with the snapshot they have (when there is one).
    if (fresh || (loading_ && snap_)) return snap_;
    loading_ = true;
  }
  auto next = std::make_shared<Snapshot>();
  auto users = ListUsers(*meta_);
  auto pub = ListPublic(*meta_);
  std::lock_guard<std::mutex> lock(mu_);
  loading_ = false;
  if (!users.ok() || !pub.ok()) {
    // Keep serving from what we had; a failed reload is retried at the next request.
    LOG_WARN_EVERY("gateway: reloading users failed: {}",
                   (users.ok() ? pub.status() : users.status()).ToString());
    if (snap_) return snap_;
    return std::make_shared<Snapshot>();
  }
  next->users = std::move(*users);
  next->public_prefixes = std::move(*pub);
  snap_ = std::move(next);
  loaded_at_ms_ = now_ms;
  return snap_;
}

std::optional<User> UserStore::Find(const std::string& access_key) {
  if (access_key == root_.name) return root_;
  auto snap = Current();
  for (const User& u : snap->users) {
    if (u.name == access_key) return u;
  }
  return std::nullopt;
}

bool UserStore::IsPublic(const std::string& bucket, const std::string& key) {
  auto snap = Current();
  for (const Grant& g : snap->public_prefixes) {
    if (g.bucket == bucket && Covers(g, key)) return true;
  }
  return false;
}

}  // namespace strata::gateway

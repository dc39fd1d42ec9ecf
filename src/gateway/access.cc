#include "gateway/access.h"

namespace strata::gateway {
namespace {
bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
}  // namespace

bool MayAccessKey(const User& u, const std::string& bucket, const std::string& key, Access a) {
  if (u.root) return true;
  for (const Grant& g : u.grants) {
    if (g.bucket != bucket || !StartsWith(key, g.prefix)) continue;
    if (a == Access::kRead || !g.read_only) return true;
  }
  return false;
}

bool MayList(const User& u, const std::string& bucket, const std::string& prefix) {
  if (u.root) return true;
  for (const Grant& g : u.grants) {
    if (g.bucket == bucket && (StartsWith(prefix, g.prefix) || StartsWith(g.prefix, prefix))) {
      return true;
    }
  }
  return false;
}

bool MaySee(const User& u, const std::string& bucket, const std::string& key_or_prefix) {
  if (u.root) return true;
  for (const Grant& g : u.grants) {
    if (g.bucket != bucket) continue;
    // Inside the grant, or a common prefix on the way to it ("agents/" for "agents/a1/").
    if (StartsWith(key_or_prefix, g.prefix)) return true;
    if (!key_or_prefix.empty() && key_or_prefix.back() == '/' &&
        StartsWith(g.prefix, key_or_prefix)) {
      return true;
    }
  }
  return false;
}

bool MaySeeBucket(const User& u, const std::string& bucket) {
  if (u.root) return true;
  for (const Grant& g : u.grants) {
    if (g.bucket == bucket) return true;
  }
  return false;
}

bool MayAdminBuckets(const User& u) { return u.root; }

}  // namespace strata::gateway

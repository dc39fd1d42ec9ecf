// Authorization: what a user's grants allow. The root user may do everything; another user
// reaches only keys under its grants' prefixes (writes only through read-write grants), sees
// only the buckets it has grants in, and may not create or delete buckets. A listing is
// allowed when some grant is on the listed path (the prefix lies inside the grant, or the
// grant inside the prefix); its results are then filtered to what the grants cover.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "gateway/users.h"

namespace strata::gateway {

enum class Access { kRead, kWrite };

bool MayAccessKey(const User& u, const std::string& bucket, const std::string& key, Access a);
bool MayList(const User& u, const std::string& bucket, const std::string& prefix);
// A key or a common prefix ("dir/") of a listing is shown to the user.
bool MaySee(const User& u, const std::string& bucket, const std::string& key_or_prefix);
bool MaySeeBucket(const User& u, const std::string& bucket);
bool MayAdminBuckets(const User& u);

}  // namespace strata::gateway

// URI parsing for metadata and storage URLs (sqlite3:///p, redis://:pw@h:6379/0, file:///dir,
// s3://bucket/prefix, http://host:port/bucket, etcd://h1:2379,h2:2379/prefix, memkv://).
// Hand-written: the forms we accept are few, and we need errors that name what is wrong.
//
// Thread-safety: plain values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace strata {

// One "host[:port]" of a URL's authority. IPv6 literals are given without brackets.
struct HostPort {
  std::string host;
  int port = 0;  // 0 when absent
  bool operator==(const HostPort&) const = default;
};

struct Uri {
  std::string scheme;    // lower-cased, e.g. "sqlite3"
  std::string user;      // percent-decoded, may be empty
  std::string password;  // percent-decoded, may be empty
  bool has_password = false;
  std::string host;  // may hold a comma-separated list (etcd); may be empty (file:///x)
  int port = 0;      // 0 when absent
  std::string path;  // percent-decoded, begins with '/' when present ("" when absent)
  std::map<std::string, std::string> query;  // percent-decoded ?a=b&c=d (last one wins)
  // Every host of the authority in order: one entry for "h:1", several for "h1:1,h2:2" (etcd).
  // Empty when the authority has no host (file:///x, memkv://).
  std::vector<HostPort> hosts;

  // The URL again (user, password and path percent-encoded), parseable by ParseUri.
  std::string ToString() const;

  // The URL with the password replaced by "****", for logs and `strata status`.
  std::string Masked() const;
};

// Parses "scheme://[user[:password]@]host[:port][,host[:port]...][/path][?query]".
// The scheme is lower-cased; a host list keeps `host` as written and `port` 0, with each
// entry in `hosts`. '#' has no special meaning (object keys may contain it).
// Errors (kInvalidArgument) name the problem and quote the URL with any password masked:
// missing scheme, bad scheme character, bad or out-of-range port, empty host in a list,
// unterminated IPv6 literal, bad percent-escape.
Result<Uri> ParseUri(std::string_view text);

// Percent-decoding and RFC 3986 encoding (unreserved characters kept; '/' kept if keep_slash).
Result<std::string> PercentDecode(std::string_view s);
std::string PercentEncode(std::string_view s, bool keep_slash);

}  // namespace strata

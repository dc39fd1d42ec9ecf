// URI parsing for metadata and storage URLs (sqlite3:///p, redis://:pw@h:6379/0, file:///dir,
// s3://bucket/prefix, http://host:port/bucket, etcd://h1:2379,h2:2379/prefix, memkv://).
// Hand-written: the forms we accept are few, and we need errors that name what is wrong.
//
// Thread-safety: plain values.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace strata {

struct Uri {
  std::string scheme;    // lower-cased, e.g. "sqlite3"
  std::string user;      // percent-decoded, may be empty
  std::string password;  // percent-decoded, may be empty
  bool has_password = false;
  std::string host;      // may hold a comma-separated list (etcd); may be empty (file:///x)
  int port = 0;          // 0 when absent
  std::string path;      // percent-decoded, begins with '/' when present ("" when absent)
  std::map<std::string, std::string> query;  // percent-decoded ?a=b&c=d

  // The URL with the password replaced by "****", for logs and `strata status`.
  std::string Masked() const;
};

// Parses "scheme://[user[:password]@]host[:port][/path][?query]". Errors (kInvalidArgument)
// name the problem: missing scheme, bad port, bad percent-escape.
Result<Uri> ParseUri(std::string_view text);

// Percent-decoding and RFC 3986 encoding (unreserved characters kept; '/' kept if keep_slash).
Result<std::string> PercentDecode(std::string_view s);
std::string PercentEncode(std::string_view s, bool keep_slash);

}  // namespace strata

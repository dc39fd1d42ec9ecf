// Bucket names and object keys, checked before anything touches the volume (DESIGN.md §10
// "Path safety"): a key is a '/'-separated path below its bucket; '.', '..', empty segments
// (a trailing '/' excepted: a "folder" key), NUL, segments over 255 bytes and keys over 1,024
// bytes are refused, so no request reaches outside its bucket. Names starting with '.' at the
// bucket level are reserved (the trash, the gateway's upload directory) and are not buckets.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <optional>
#include <variant>
#include <vector>

#include "gateway/s3_error.h"

namespace strata::gateway {

inline constexpr size_t kMaxKeyBytes = 1024;
inline constexpr size_t kMaxNameBytes = 255;

struct KeyPath {
  std::vector<std::string> dirs;  // the directories below the bucket
  std::string name;               // the last segment ("" for a folder key "a/b/")
  bool folder = false;            // the key ends in '/': a directory
  std::string key;                // the key as given
};

// nullopt when valid, else the 400 error to answer.
std::optional<S3Error> CheckBucketName(const std::string& bucket);
// Stricter, for CreateBucket: S3's rules (3-63 of [a-z0-9.-], starting and ending with a
// letter or digit).
std::optional<S3Error> CheckNewBucketName(const std::string& bucket);
std::variant<KeyPath, S3Error> ParseKey(const std::string& key);
// A prefix of a listing ("" or any string): its directory part must be a valid key path.
std::optional<S3Error> CheckPrefix(const std::string& prefix);

}  // namespace strata::gateway

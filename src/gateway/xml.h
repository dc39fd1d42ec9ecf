// XML of the S3 REST API: a small writer for responses (ListBucketResult, errors, multipart
// answers) and the two request bodies the gateway parses (CompleteMultipartUpload and Delete)
// with tinyxml2 (Debian libtinyxml2-dev, as the S3 client in object/s3 does).
//
// Thread-safety: an XmlWriter is used by one thread; the parse functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/s3_error.h"

namespace strata::gateway {

inline constexpr std::string_view kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

// Builds `<?xml ...?><Root xmlns="...">...</Root>`; text is escaped.
class XmlWriter {
 public:
  explicit XmlWriter(std::string_view root);
  void Open(std::string_view name);
  void Close();
  void Leaf(std::string_view name, std::string_view text);
  void Leaf(std::string_view name, uint64_t n) { Leaf(name, std::to_string(n)); }
  void Leaf(std::string_view name, bool b) { Leaf(name, std::string_view(b ? "true" : "false")); }
  // Closes every open element and returns the document.
  std::string Finish();

 private:
  std::string out_;
  std::vector<std::string> open_;
};

std::string XmlEscape(std::string_view s);
// `<Error><Code/><Message/><Resource/><RequestId/></Error>`.
std::string RenderError(const S3Error& e, std::string_view resource, std::string_view request_id);
// ISO 8601 with milliseconds, UTC: 2026-12-01T11:00:00.000Z.
std::string IsoTime(int64_t sec, uint32_t nsec = 0);
// RFC 7231 date for Last-Modified: "Tue, 01 Dec 2026 11:00:00 GMT"; and its parser (-1 when
// malformed).
std::string HttpDate(int64_t sec);
int64_t ParseHttpDate(const std::string& s);

struct CompletePart {
  int number = 0;
  std::string etag;  // without quotes
};
// <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...; MalformedXML when it is not.
Result<std::vector<CompletePart>> ParseCompleteMultipart(std::string_view body);

struct DeleteRequest {
  std::vector<std::string> keys;
  bool quiet = false;
};
// <Delete><Quiet/><Object><Key/></Object>...</Delete>.
Result<DeleteRequest> ParseDelete(std::string_view body);

}  // namespace strata::gateway

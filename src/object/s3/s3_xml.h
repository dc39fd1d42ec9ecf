// The S3 XML documents the client reads and writes: error documents, ListObjectsV2 pages,
// multipart initiate/list-parts results and the CompleteMultipartUpload request body; plus
// the two time formats S3 uses (ISO 8601 in XML, RFC 1123 in Last-Modified headers).
//
// Parsing uses tinyxml2 (Debian libtinyxml2-dev) and matches elements by local name, so a
// namespace prefix or its absence (AWS, R2, GCS, MinIO, s3rver differ) does not matter.
// Thread-safety: pure functions. Errors: kCorruption for a body that is not the expected
// document (named in the message, with the first bytes of the body).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "object/object_store.h"

namespace strata::object::s3 {

// <Error><Code>NoSuchKey</Code><Message>...</Message>...</Error>
struct S3Error {
  std::string code;
  std::string message;
  std::string resource;
  std::string request_id;
  std::string bucket_name;
  std::string region;  // <Region> in AuthorizationHeaderMalformed / PermanentRedirect
};

// The error document in body, or nullopt when body is empty or not an <Error> document.
std::optional<S3Error> ParseError(std::string_view body);

// One ListObjectsV2 page. Keys are returned as sent (no encoding-type).
Result<ListResult> ParseListObjectsV2(std::string_view body);

// <InitiateMultipartUploadResult><UploadId>: the upload id.
Result<std::string> ParseInitiateMultipart(std::string_view body);

struct PartsPage {
  std::vector<PartInfo> parts;
  bool truncated = false;
  int next_part_number_marker = 0;
};
Result<PartsPage> ParseListParts(std::string_view body);

// <CompleteMultipartUpload> body listing parts in order; ETags are sent quoted.
std::string BuildCompleteMultipart(const std::vector<PartInfo>& parts);

// An ETag without its surrounding double quotes.
std::string UnquoteEtag(std::string_view etag);

// "2009-10-12T17:50:30.000Z" -> ns since the epoch; 0 when unparsable.
int64_t ParseIso8601(std::string_view s);
// "Wed, 12 Oct 2009 17:50:00 GMT" -> ns since the epoch; 0 when unparsable.
int64_t ParseHttpDate(std::string_view s);

}  // namespace strata::object::s3

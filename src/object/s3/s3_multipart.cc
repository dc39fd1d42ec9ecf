// S3Store's multipart operations, and the multipart path of a large Put.
#include "object/key_listing.h"
#include "object/s3/s3_errors.h"
#include "object/s3/s3_store.h"
#include "object/s3/s3_xml.h"

namespace strata::object::s3 {

Result<std::string> S3Store::StartUpload(const std::string& key, const PutOptions& opts) {
  RETURN_IF_ERROR(CheckKey(key));
  Pairs headers = {{"Content-Type", "application/octet-stream"}};
  Pairs meta = MetadataHeaders(opts.metadata);
  headers.insert(headers.end(), meta.begin(), meta.end());
  ASSIGN_OR_RETURN(HttpResponse resp,
                   Call("CreateMultipartUpload", key, "POST", {{"uploads", ""}}, headers, ""));
  return ParseInitiateMultipart(resp.body);
}

Result<std::string> S3Store::CreateMultipart(const std::string& key) {
  return StartUpload(key, PutOptions{});
}

Result<std::string> S3Store::UploadPart(const std::string& key, const std::string& upload_id,
                                        int part_number, std::string_view data) {
  RETURN_IF_ERROR(CheckKey(key));
  if (part_number < 1 || part_number > 10000) {
    return Status::InvalidArgument("part number must be 1..10000, got " +
                                   std::to_string(part_number));
  }
  ASSIGN_OR_RETURN(HttpResponse resp,
                   Call("UploadPart", key, "PUT",
                        {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}},
                        {}, data));
  std::string etag = UnquoteEtag(resp.Header("etag"));
  if (etag.empty()) {
    return Status::IOError("UploadPart " + key + " on " + Describe() + ": answer has no ETag");
  }
  return etag;
}

Status S3Store::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                  const std::vector<PartInfo>& parts) {
  RETURN_IF_ERROR(CheckKey(key));
  if (parts.empty()) return Status::InvalidArgument("multipart complete with no parts");
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].number <= parts[i - 1].number) {
      return Status::InvalidArgument("multipart parts must be in ascending order");
    }
  }
  std::string body = BuildCompleteMultipart(parts);
  return Call("CompleteMultipartUpload", key, "POST", {{"uploadId", upload_id}},
              {{"Content-Type", "application/xml"}}, body)
      .status();
}

Status S3Store::AbortMultipart(const std::string& key, const std::string& upload_id) {
  RETURN_IF_ERROR(CheckKey(key));
  return Call("AbortMultipartUpload", key, "DELETE", {{"uploadId", upload_id}}, {}, "").status();
}

Result<std::vector<PartInfo>> S3Store::ListParts(const std::string& key,
                                                 const std::string& upload_id) {
  RETURN_IF_ERROR(CheckKey(key));
  std::vector<PartInfo> parts;
  int marker = 0;
  for (;;) {
    Pairs query = {{"uploadId", upload_id}};
    if (marker > 0) query.emplace_back("part-number-marker", std::to_string(marker));
    ASSIGN_OR_RETURN(HttpResponse resp, Call("ListParts", key, "GET", query, {}, ""));
    ASSIGN_OR_RETURN(PartsPage page, ParseListParts(resp.body));
    parts.insert(parts.end(), page.parts.begin(), page.parts.end());
    if (!page.truncated) break;
    if (page.next_part_number_marker <= marker) {
      return Status::Corruption("ListParts " + key + " on " + Describe() +
                                ": truncated page without progress");
    }
    marker = page.next_part_number_marker;
  }
  return parts;
}

Status S3Store::PutMultipart(const std::string& key, std::string_view data,
                             const PutOptions& opts) {
  ASSIGN_OR_RETURN(std::string upload_id, StartUpload(key, opts));
  std::vector<PartInfo> parts;
  Status st;
  const uint64_t part_size = config_.part_size;
  for (uint64_t off = 0; off < data.size() && st.ok(); off += part_size) {
    std::string_view chunk = data.substr(off, part_size);
    int number = static_cast<int>(parts.size()) + 1;
    Result<std::string> etag = UploadPart(key, upload_id, number, chunk);
    if (!etag.ok()) {
      st = etag.status();
      break;
    }
    parts.push_back(PartInfo{number, *etag, chunk.size()});
  }
  if (st.ok()) st = CompleteMultipart(key, upload_id, parts);
  if (!st.ok()) {
    // Best effort: the Put's own error is what the caller needs; a failed abort leaves an
    // incomplete upload that a bucket lifecycle rule or `strata gc` clears.
    Status abort = AbortMultipart(key, upload_id);
    (void)abort;
  }
  return st;
}

}  // namespace strata::object::s3

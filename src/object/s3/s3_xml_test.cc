// XML documents as AWS, R2, GCS, MinIO and s3rver send them, and the Status each error maps to.
#include "object/s3/s3_xml.h"

#include <gtest/gtest.h>

#include "object/s3/s3_errors.h"

namespace strata::object::s3 {
namespace {

TEST(S3XmlTest, ParsesListObjectsV2PageWithPrefixesAndToken) {
  const char* body = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>photos/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
  <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <Contents>
    <Key>photos/a &amp; b.jpg</Key><LastModified>2009-10-12T17:50:30.250Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents>
    <Key>photos/ünï</Key><LastModified>2009-10-12T17:50:31Z</LastModified>
    <ETag>"abc-2"</ETag><Size>0</Size>
  </Contents>
  <CommonPrefixes><Prefix>photos/2006/</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";
  auto r = ParseListObjectsV2(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "photos/a & b.jpg");
  EXPECT_EQ(r->objects[0].size, 434234u);
  EXPECT_EQ(r->objects[0].etag, "fba9dede5f27731c9771645a39863328");
  EXPECT_EQ(r->objects[0].mtime_ns, 1255369830250000000LL);
  EXPECT_EQ(r->objects[1].key, "photos/ünï");
  EXPECT_EQ(r->objects[1].etag, "abc-2");
  EXPECT_EQ(r->objects[1].mtime_ns, 1255369831000000000LL);
  ASSERT_EQ(r->common_prefixes.size(), 1u);
  EXPECT_EQ(r->common_prefixes[0], "photos/2006/");
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->next_continuation, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3XmlTest, EmptyListingAndNamespacePrefix) {
  auto r = ParseListObjectsV2(
      "<s3:ListBucketResult xmlns:s3=\"x\"><s3:IsTruncated>false</s3:IsTruncated>"
      "<s3:Contents><s3:Key>k</s3:Key><s3:Size>5</s3:Size></s3:Contents></s3:ListBucketResult>");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->objects.size(), 1u);
  EXPECT_EQ(r->objects[0].key, "k");
  EXPECT_EQ(r->objects[0].size, 5u);
  EXPECT_FALSE(r->truncated);

  auto empty = ParseListObjectsV2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->objects.empty());
}

TEST(S3XmlTest, MalformedDocumentsAreCorruption) {
  EXPECT_EQ(ParseListObjectsV2("<html>proxy error</html>").code(), Code::kCorruption);
  EXPECT_EQ(ParseListObjectsV2("not xml at all <").code(), Code::kCorruption);
  EXPECT_EQ(ParseListObjectsV2("").code(), Code::kCorruption);
  // Truncated without a token would loop forever: refuse it.
  EXPECT_EQ(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")
                .code(),
            Code::kCorruption);
  EXPECT_EQ(ParseInitiateMultipart("<InitiateMultipartUploadResult/>").code(), Code::kCorruption);
}

TEST(S3XmlTest, ParsesErrorDocument) {
  auto e = ParseError(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>
<BucketName>nope</BucketName><Resource>/nope/k</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "NoSuchBucket");
  EXPECT_EQ(e->message, "The specified bucket does not exist");
  EXPECT_EQ(e->bucket_name, "nope");
  EXPECT_EQ(e->request_id, "4442587FB7D0A2F9");
  EXPECT_FALSE(ParseError("").has_value());
  EXPECT_FALSE(ParseError("<ListBucketResult/>").has_value());
}

TEST(S3XmlTest, MultipartDocuments) {
  auto id = ParseInitiateMultipart(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
      "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");

  auto parts = ParseListParts(
      "<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>"
      "<NextPartNumberMarker>2</NextPartNumberMarker><IsTruncated>true</IsTruncated>"
      "<Part><PartNumber>1</PartNumber><ETag>\"7778aef83f66abc1fa1e8477f296d394\"</ETag>"
      "<Size>5242880</Size></Part><Part><PartNumber>2</PartNumber><ETag>\"aaaa\"</ETag>"
      "<Size>10</Size></Part></ListPartsResult>");
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->parts.size(), 2u);
  EXPECT_EQ(parts->parts[0].number, 1);
  EXPECT_EQ(parts->parts[0].etag, "7778aef83f66abc1fa1e8477f296d394");
  EXPECT_EQ(parts->parts[0].size, 5242880u);
  EXPECT_EQ(parts->parts[1].number, 2);
  EXPECT_TRUE(parts->truncated);
  EXPECT_EQ(parts->next_part_number_marker, 2);

  EXPECT_EQ(BuildCompleteMultipart({{1, "\"e1\"", 5}, {2, "e<2", 1}}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;e&lt;2&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
}

TEST(S3XmlTest, Times) {
  EXPECT_EQ(ParseHttpDate("Wed, 12 Oct 2009 17:50:00 GMT"), 1255369800000000000LL);
  EXPECT_EQ(ParseIso8601("1970-01-01T00:00:01.5Z"), 1500000000LL);
  EXPECT_EQ(ParseIso8601("garbage"), 0);
  EXPECT_EQ(ParseHttpDate(""), 0);
}

// ---- Status mapping of S3 answers (s3_errors.h) ----

S3Endpoint Endpoint() {
  S3Endpoint ep;
  ep.scheme = "http";
  ep.host = "127.0.0.1";
  ep.port = 9000;
  ep.bucket = "data";
  ep.url_scheme = "http";
  return ep;
}

HttpResponse Answer(int status, const std::string& code, const std::string& message = "msg") {
  HttpResponse r;
  r.status = status;
  if (!code.empty()) {
    r.body = "<Error><Code>" + code + "</Code><Message>" + message + "</Message></Error>";
  }
  return r;
}

TEST(S3ErrorsTest, MapsCodes) {
  const S3Endpoint ep = Endpoint();
  Status no_key = ErrorFromResponse(Answer(404, "NoSuchKey"), "GET", "a/b", ep);
  EXPECT_EQ(no_key.code(), Code::kNotFound);
  EXPECT_NE(no_key.message().find("a/b"), std::string_view::npos);

  Status no_bucket = ErrorFromResponse(Answer(404, "NoSuchBucket"), "PUT", "k", ep);
  EXPECT_EQ(no_bucket.code(), Code::kNotFound);
  EXPECT_NE(no_bucket.message().find("bucket data does not exist"), std::string_view::npos)
      << no_bucket.ToString();

  for (const char* code : {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}) {
    Status st = ErrorFromResponse(Answer(403, code), "GET", "k", ep);
    EXPECT_EQ(st.code(), Code::kPermissionDenied) << code;
    EXPECT_NE(st.message().find("403 Forbidden"), std::string_view::npos) << st.ToString();
    EXPECT_NE(st.message().find(code), std::string_view::npos) << st.ToString();
  }
  // A bodiless 403 (HEAD) is still a permission error that says 403.
  Status head403 = ErrorFromResponse(Answer(403, ""), "HEAD", "k", ep);
  EXPECT_EQ(head403.code(), Code::kPermissionDenied);
  EXPECT_NE(head403.message().find("403"), std::string_view::npos);

  Status slow = ErrorFromResponse(Answer(503, "SlowDown"), "PUT", "k", ep);
  EXPECT_EQ(slow.code(), Code::kUnavailable);
  EXPECT_TRUE(slow.IsRetryable());
  EXPECT_EQ(ErrorFromResponse(Answer(500, "InternalError"), "PUT", "k", ep).code(),
            Code::kUnavailable);
  EXPECT_EQ(ErrorFromResponse(Answer(502, ""), "PUT", "k", ep).code(), Code::kUnavailable);
  EXPECT_EQ(ErrorFromResponse(Answer(400, "RequestTimeout"), "PUT", "k", ep).code(),
            Code::kTimeout);
  EXPECT_EQ(ErrorFromResponse(Answer(404, ""), "HEAD", "k", ep).code(), Code::kNotFound);
  EXPECT_EQ(ErrorFromResponse(Answer(404, "NoSuchUpload"), "UploadPart", "k", ep).code(),
            Code::kNotFound);
  EXPECT_EQ(ErrorFromResponse(Answer(400, "EntityTooSmall"), "Complete", "k", ep).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ErrorFromResponse(Answer(501, "NotImplemented"), "ListParts", "k", ep).code(),
            Code::kNotSupported);
  // s3rver has no ListParts/AbortMultipartUpload and says 405 MethodNotAllowed.
  EXPECT_EQ(ErrorFromResponse(Answer(405, "MethodNotAllowed"), "ListParts", "k", ep).code(),
            Code::kNotSupported);
}

TEST(S3ErrorsTest, WrongRegionSaysWhichRegion) {
  HttpResponse r = Answer(301, "PermanentRedirect");
  r.headers["x-amz-bucket-region"] = "eu-central-1";
  Status st = ErrorFromResponse(r, "GET", "k", Endpoint());
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("--region eu-central-1"), std::string_view::npos) << st.ToString();
}

TEST(S3ErrorsTest, ErrorHiddenInA200IsNotSuccess) {
  HttpResponse ok;
  ok.status = 200;
  ok.body = "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>";
  EXPECT_TRUE(IsSuccess(ok));
  HttpResponse hidden = Answer(200, "InternalError", "We encountered an internal error");
  EXPECT_FALSE(IsSuccess(hidden));
  EXPECT_EQ(ErrorFromResponse(hidden, "CompleteMultipartUpload", "k", Endpoint()).code(),
            Code::kUnavailable);
  HttpResponse plain;
  plain.status = 204;
  EXPECT_TRUE(IsSuccess(plain));
}

}  // namespace
}  // namespace strata::object::s3

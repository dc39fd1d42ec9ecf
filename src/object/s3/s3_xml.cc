#include "object/s3/s3_xml.h"

#include <tinyxml2.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

namespace strata::object::s3 {
namespace {

using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;

// Element name without a namespace prefix ("s3:Key" -> "Key").
std::string_view LocalName(const XMLElement* e) {
  std::string_view n = e->Name();
  size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

const XMLElement* Child(const XMLElement* parent, std::string_view name) {
  for (const XMLElement* c = parent->FirstChildElement(); c; c = c->NextSiblingElement()) {
    if (LocalName(c) == name) return c;
  }
  return nullptr;
}

std::string Text(const XMLElement* parent, std::string_view name) {
  const XMLElement* c = Child(parent, name);
  if (!c || !c->GetText()) return "";
  return c->GetText();
}

Status Malformed(std::string_view what, std::string_view body) {
  std::string head(body.substr(0, 200));
  return Status::Corruption(std::string("S3 response is not a valid ") + std::string(what) +
                            " document: " + head);
}

// Parses body and returns its root element if it is named `root`; else nullptr.
const XMLElement* Root(XMLDocument& doc, std::string_view body, std::string_view root) {
  if (body.empty()) return nullptr;
  if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) return nullptr;
  const XMLElement* r = doc.RootElement();
  if (!r || LocalName(r) != root) return nullptr;
  return r;
}

uint64_t ToU64(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 10); }

void AppendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
}

}  // namespace

std::optional<S3Error> ParseError(std::string_view body) {
  XMLDocument doc;
  const XMLElement* r = Root(doc, body, "Error");
  if (!r) return std::nullopt;
  S3Error e;
  e.code = Text(r, "Code");
  e.message = Text(r, "Message");
  e.resource = Text(r, "Resource");
  e.request_id = Text(r, "RequestId");
  e.bucket_name = Text(r, "BucketName");
  e.region = Text(r, "Region");
  return e;
}

Result<ListResult> ParseListObjectsV2(std::string_view body) {
  XMLDocument doc;
  const XMLElement* r = Root(doc, body, "ListBucketResult");
  if (!r) return Malformed("ListBucketResult", body);
  ListResult out;
  for (const XMLElement* c = r->FirstChildElement(); c; c = c->NextSiblingElement()) {
    std::string_view name = LocalName(c);
    if (name == "Contents") {
      ObjectInfo info;
      info.key = Text(c, "Key");
      info.size = ToU64(Text(c, "Size"));
      info.etag = UnquoteEtag(Text(c, "ETag"));
      info.mtime_ns = ParseIso8601(Text(c, "LastModified"));
      out.objects.push_back(std::move(info));
    } else if (name == "CommonPrefixes") {
      out.common_prefixes.push_back(Text(c, "Prefix"));
    } else if (name == "IsTruncated") {
      out.truncated = c->GetText() && std::strcmp(c->GetText(), "true") == 0;
    } else if (name == "NextContinuationToken") {
      out.next_continuation = c->GetText() ? c->GetText() : "";
    }
  }
  if (out.truncated && out.next_continuation.empty()) {
    return Malformed("ListBucketResult (truncated without NextContinuationToken)", body);
  }
  return out;
}

Result<std::string> ParseInitiateMultipart(std::string_view body) {
  XMLDocument doc;
  const XMLElement* r = Root(doc, body, "InitiateMultipartUploadResult");
  if (!r) return Malformed("InitiateMultipartUploadResult", body);
  std::string id = Text(r, "UploadId");
  if (id.empty()) return Malformed("InitiateMultipartUploadResult (no UploadId)", body);
  return id;
}

Result<PartsPage> ParseListParts(std::string_view body) {
  XMLDocument doc;
  const XMLElement* r = Root(doc, body, "ListPartsResult");
  if (!r) return Malformed("ListPartsResult", body);
  PartsPage page;
  for (const XMLElement* c = r->FirstChildElement(); c; c = c->NextSiblingElement()) {
    std::string_view name = LocalName(c);
    if (name == "Part") {
      PartInfo p;
      p.number = static_cast<int>(ToU64(Text(c, "PartNumber")));
      p.etag = UnquoteEtag(Text(c, "ETag"));
      p.size = ToU64(Text(c, "Size"));
      page.parts.push_back(std::move(p));
    } else if (name == "IsTruncated") {
      page.truncated = c->GetText() && std::strcmp(c->GetText(), "true") == 0;
    } else if (name == "NextPartNumberMarker") {
      page.next_part_number_marker = c->GetText() ? std::atoi(c->GetText()) : 0;
    }
  }
  return page;
}

std::string BuildCompleteMultipart(const std::vector<PartInfo>& parts) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const PartInfo& p : parts) {
    out += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>&quot;";
    AppendEscaped(out, UnquoteEtag(p.etag));
    out += "&quot;</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string UnquoteEtag(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

int64_t ParseIso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z
  std::string str(s);
  struct tm tm {};
  const char* rest = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  int64_t ns = 0;
  if (*rest == '.') {
    ++rest;
    int64_t scale = 100000000;
    while (*rest >= '0' && *rest <= '9') {
      ns += (*rest - '0') * scale;
      scale /= 10;
      ++rest;
    }
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000000000 + ns;
}

int64_t ParseHttpDate(std::string_view s) {
  std::string str(s);
  struct tm tm {};
  // strptime's %a/%b are locale-dependent; S3 sends English names, as the C locale reads.
  if (!strptime(str.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000000000;
}

}  // namespace strata::object::s3

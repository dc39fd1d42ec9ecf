#include "gateway/xml.h"

#include <tinyxml2.h>
#include <time.h>

#include <cstdio>
#include <cstring>

namespace strata::gateway {

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters cannot appear in XML 1.0 even escaped; keys with them need
        // encoding-type=url (the listing does that when asked).
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "&#x%X;", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

XmlWriter::XmlWriter(std::string_view root) {
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  out_ += root;
  out_ += " xmlns=\"";
  out_ += kS3Namespace;
  out_ += "\">";
  open_.emplace_back(root);
}

void XmlWriter::Open(std::string_view name) {
  out_ += '<';
  out_ += name;
  out_ += '>';
  open_.emplace_back(name);
}

void XmlWriter::Close() {
  out_ += "</" + open_.back() + ">";
  open_.pop_back();
}

void XmlWriter::Leaf(std::string_view name, std::string_view text) {
  out_ += '<';
  out_ += name;
  out_ += '>';
  out_ += XmlEscape(text);
  out_ += "</";
  out_ += name;
  out_ += '>';
}

std::string XmlWriter::Finish() {
  while (!open_.empty()) Close();
  return std::move(out_);
}

std::string RenderError(const S3Error& e, std::string_view resource, std::string_view request_id) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>";
  out += XmlEscape(e.code) + "</Code><Message>" + XmlEscape(e.message) + "</Message><Resource>" +
         XmlEscape(resource) + "</Resource><RequestId>" + XmlEscape(request_id) +
         "</RequestId></Error>";
  return out;
}

std::string IsoTime(int64_t sec, uint32_t nsec) {
  time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nsec / 1000000);
  return buf;
}

std::string HttpDate(int64_t sec) {
  time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

int64_t ParseHttpDate(const std::string& s) {
  struct tm tm {};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return -1;
  return static_cast<int64_t>(timegm(&tm));
}

namespace {
const char* ChildText(const tinyxml2::XMLElement* e, const char* name) {
  const tinyxml2::XMLElement* c = e->FirstChildElement(name);
  if (c == nullptr) return nullptr;
  const char* t = c->GetText();
  return t ? t : "";
}
}  // namespace

Result<std::vector<CompletePart>> ParseCompleteMultipart(std::string_view body) {
  tinyxml2::XMLDocument doc;
  if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) {
    return Status::InvalidArgument("malformed CompleteMultipartUpload XML");
  }
  const tinyxml2::XMLElement* root = doc.FirstChildElement("CompleteMultipartUpload");
  if (root == nullptr) return Status::InvalidArgument("no CompleteMultipartUpload element");
  std::vector<CompletePart> out;
  for (auto* p = root->FirstChildElement("Part"); p; p = p->NextSiblingElement("Part")) {
    const char* num = ChildText(p, "PartNumber");
    const char* etag = ChildText(p, "ETag");
    if (num == nullptr || etag == nullptr) return Status::InvalidArgument("Part without number");
    CompletePart part;
    part.number = std::atoi(num);
    part.etag = etag;
    if (part.etag.size() >= 2 && part.etag.front() == '"' && part.etag.back() == '"') {
      part.etag = part.etag.substr(1, part.etag.size() - 2);
    }
    out.push_back(std::move(part));
  }
  if (out.empty()) return Status::InvalidArgument("no parts in CompleteMultipartUpload");
  return out;
}

Result<DeleteRequest> ParseDelete(std::string_view body) {
  tinyxml2::XMLDocument doc;
  if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) {
    return Status::InvalidArgument("malformed Delete XML");
  }
  const tinyxml2::XMLElement* root = doc.FirstChildElement("Delete");
  if (root == nullptr) return Status::InvalidArgument("no Delete element");
  DeleteRequest out;
  const char* quiet = ChildText(root, "Quiet");
  out.quiet = quiet != nullptr && std::strcmp(quiet, "true") == 0;
  for (auto* o = root->FirstChildElement("Object"); o; o = o->NextSiblingElement("Object")) {
    const char* key = ChildText(o, "Key");
    if (key == nullptr) return Status::InvalidArgument("Object without Key");
    out.keys.emplace_back(key);
  }
  if (out.keys.size() > 1000) return Status::InvalidArgument("more than 1000 keys to delete");
  return out;
}

}  // namespace strata::gateway

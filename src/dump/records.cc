#include "dump/records.h"

#include "common/bytes.h"
#include "meta/quota_record.h"
#include "meta/schema.h"

namespace strata::dump {

using nlohmann::json;
namespace schema = meta::schema;

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char* const kTypeNames[] = {"",     "file",     "dir",     "symlink",
                                  "fifo", "blockdev", "chardev", "socket"};

std::string TypeName(meta::FileType t) {
  auto i = static_cast<size_t>(t);
  return i >= 1 && i <= 7 ? kTypeNames[i] : std::to_string(i);
}

Result<meta::FileType> ParseType(const std::string& s) {
  for (size_t i = 1; i <= 7; i++) {
    if (s == kTypeNames[i]) return static_cast<meta::FileType>(i);
  }
  return Status::Corruption("unknown file type '" + s + "'");
}

bool ValidText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    if (n == 2 && c < 0xc2) return false;  // overlong
    for (size_t k = 1; k < n; k++) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    if (n == 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0)) return false;
    }
    if (n == 4) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if (c > 0xf4 || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90)) return false;
    }
    i += n;
  }
  return true;
}

// Field readers: kCorruption naming the field when absent or of the wrong kind.
Result<uint64_t> U64(const json& o, const char* f) {
  auto it = o.find(f);
  if (it == o.end() || !it->is_number_unsigned()) {
    if (it != o.end() && it->is_number_integer() && it->get<int64_t>() >= 0) {
      return static_cast<uint64_t>(it->get<int64_t>());
    }
    return Status::Corruption(std::string("field '") + f + "' missing or not an unsigned number");
  }
  return it->get<uint64_t>();
}
Result<uint32_t> U32(const json& o, const char* f) {
  ASSIGN_OR_RETURN(uint64_t v, U64(o, f));
  if (v > UINT32_MAX) return Status::Corruption(std::string("field '") + f + "' out of range");
  return static_cast<uint32_t>(v);
}
Result<int64_t> I64(const json& o, const char* f) {
  auto it = o.find(f);
  if (it == o.end() || !it->is_number_integer()) {
    return Status::Corruption(std::string("field '") + f + "' missing or not an integer");
  }
  if (it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX) {
    return Status::Corruption(std::string("field '") + f + "' out of range");
  }
  return it->get<int64_t>();
}
Result<std::string> Str(const json& o, const char* f) {
  auto it = o.find(f);
  if (it == o.end() || !it->is_string()) {
    return Status::Corruption(std::string("field '") + f + "' missing or not a string");
  }
  return it->get<std::string>();
}

json Time(const meta::Timespec& t) { return json::array({t.sec, t.nsec}); }
Result<meta::Timespec> GetTime(const json& o, const char* f) {
  auto it = o.find(f);
  if (it == o.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_number_integer() ||
      !(*it)[1].is_number_unsigned() || (*it)[1].get<uint64_t>() >= 1000000000) {
    return Status::Corruption(std::string("field '") + f + "' is not [seconds, nanoseconds]");
  }
  return meta::Timespec{(*it)[0].get<int64_t>(), (*it)[1].get<uint32_t>()};
}

std::string InoKey(char kind, uint64_t ino) {
  std::string k(1, kind);
  PutU64BE(&k, ino);
  return k;
}

json Raw(const kv::KeyValue& kv) {
  return json{{"t", "raw"}, {"key64", Base64Encode(kv.key)}, {"value64", Base64Encode(kv.value)}};
}

Status Bad(const kv::KeyValue& kv, const std::string& what) {
  return Status::Corruption("record " + Base64Encode(kv.key) + " (base64 key): " + what);
}

Result<json> EncodeInodeRecord(const kv::KeyValue& kv) {
  const std::string& k = kv.key;
  const uint64_t ino = GetU64BE(k.data() + 1);
  const char sub = k[9];
  const std::string_view rest = std::string_view(k).substr(10);
  switch (sub) {
    case 'I': {
      auto a = schema::DecodeAttr(kv.value);
      if (!a.ok() || !rest.empty()) return Bad(kv, "attribute does not decode");
      return json{{"t", "attr"},
                  {"ino", ino},
                  {"type", TypeName(a->type)},
                  {"mode", a->mode},
                  {"uid", a->uid},
                  {"gid", a->gid},
                  {"atime", Time(a->atime)},
                  {"mtime", Time(a->mtime)},
                  {"ctime", Time(a->ctime)},
                  {"nlink", a->nlink},
                  {"length", a->length},
                  {"rdev", a->rdev},
                  {"parent", a->parent},
                  {"flags", a->flags}};
    }
    case 'D': {
      meta::FileType type;
      meta::Ino child;
      if (!schema::DecodeEntry(kv.value, &type, &child).ok()) return Bad(kv, "bad entry");
      json j{{"t", "entry"}, {"dir", ino}};
      PutBytes(j, "name", rest);
      j["type"] = TypeName(type);
      j["ino"] = child;
      return j;
    }
    case 'C': {
      if (rest.size() != 4) return Bad(kv, "bad chunk key");
      auto slices = schema::DecodeSlices(kv.value);
      if (!slices.ok()) return Bad(kv, "slice list does not decode");
      json list = json::array();
      for (const auto& s : *slices)
        list.push_back(json::array({s.pos, s.id, s.size, s.off, s.len}));
      return json{{"t", "chunk"},
                  {"ino", ino},
                  {"index", GetU32BE(rest.data())},
                  {"slices", std::move(list)}};
    }
    case 'X': {
      json j{{"t", "xattr"}, {"ino", ino}};
      PutBytes(j, "name", rest);
      j["value64"] = Base64Encode(kv.value);
      return j;
    }
    case 'S': {
      if (!rest.empty()) break;
      json j{{"t", "symlink"}, {"ino", ino}};
      PutBytes(j, "target", kv.value);
      return j;
    }
    case 'P': {
      if (rest.size() != 8 || kv.value.size() != 4) return Bad(kv, "bad hard-link parent record");
      return json{{"t", "link_parent"},
                  {"ino", ino},
                  {"dir", GetU64BE(rest.data())},
                  {"count", GetU32BE(kv.value.data())}};
    }
    default:
      break;
  }
  return Raw(kv);
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(v >> s) & 63]);
  }
  if (i < data.size()) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kB64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::Corruption("base64 text of bad length");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; k++) {
      char c = text[i + k];
      int d;
      if (c >= 'A' && c <= 'Z')
        d = c - 'A';
      else if (c >= 'a' && c <= 'z')
        d = c - 'a' + 26;
      else if (c >= '0' && c <= '9')
        d = c - '0' + 52;
      else if (c == '+')
        d = 62;
      else if (c == '/')
        d = 63;
      else if (c == '=' && i + 4 == text.size() && k >= 2) {
        d = 0;
        pad++;
      } else
        return Status::Corruption("bad base64 character");
      if (pad > 0 && c != '=') return Status::Corruption("bad base64 padding");
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<char>(v >> 16));
    if (pad < 2) out.push_back(static_cast<char>(v >> 8));
    if (pad < 1) out.push_back(static_cast<char>(v));
  }
  return out;
}

void PutBytes(json& obj, const std::string& field, std::string_view bytes) {
  if (ValidText(bytes)) {
    obj[field] = std::string(bytes);
  } else {
    obj[field + "64"] = Base64Encode(bytes);
  }
}

Result<std::string> GetBytes(const json& obj, const std::string& field) {
  auto it = obj.find(field);
  if (it != obj.end() && it->is_string()) return it->get<std::string>();
  it = obj.find(field + "64");
  if (it != obj.end() && it->is_string()) return Base64Decode(it->get<std::string>());
  return Status::Corruption("field '" + field + "' missing");
}

Result<json> EncodeRecord(const kv::KeyValue& kv) {
  const std::string& k = kv.key;
  if (k == schema::SettingKey()) {
    json v = json::parse(kv.value, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded() || !v.is_object()) return Bad(kv, "settings are not a JSON object");
    return json{{"t", "setting"}, {"value", std::move(v)}};
  }
  if (k.empty()) return Raw(kv);
  switch (k[0]) {
    case 'C':
      if (kv.value.size() == 8) {
        return json{{"t", "counter"}, {"name", k.substr(1)}, {"value", GetU64BE(kv.value.data())}};
      }
      break;
    case 'A':
      if (k.size() >= 10) return EncodeInodeRecord(kv);
      break;
    case 'K':
    case 'G': {
      uint64_t id;
      uint32_t size;
      if (!schema::ParseSliceKey(k, &id, &size)) break;
      if (k[0] == 'G') return json{{"t", "garbage"}, {"id", id}, {"size", size}};
      if (kv.value.size() != 8) return Bad(kv, "bad reference count");
      return json{{"t", "ref"}, {"id", id}, {"size", size}, {"count", schema::DecodeI64(kv.value)}};
    }
    case 'D': {
      meta::Ino ino;
      uint64_t len;
      if (!schema::ParseDeletedFileKey(k, &ino, &len) || kv.value.size() != 8) break;
      return json{
          {"t", "deleted"}, {"ino", ino}, {"length", len}, {"time", schema::DecodeI64(kv.value)}};
    }
    case 'Q':
      // Quota record version 1 (meta/quota_record.h): limits and subtree usage.
      if (k.size() == 9) {
        if (auto q = meta::quota::DecodeRecord(kv.value)) {
          return json{{"t", "quota"},         {"ino", GetU64BE(k.data() + 1)},
                      {"bytes", q->max_bytes}, {"inodes", q->max_inodes},
                      {"used_bytes", q->used_bytes}, {"used_inodes", q->used_inodes}};
        }
      }
      break;
    case 'U':
      if (k.size() == 9 && kv.value.size() == 16) {
        json j{{"t", "usage"}, {"ino", GetU64BE(k.data() + 1)}};
        j["bytes"] = schema::DecodeI64(std::string_view(kv.value).substr(0, 8));
        j["inodes"] = schema::DecodeI64(std::string_view(kv.value).substr(8));
        return j;
      }
      break;
    default:
      break;
  }
  return Raw(kv);
}

namespace {

Result<kv::KeyValue> DecodeAttrRecord(const json& r) {
  meta::Attr a;
  ASSIGN_OR_RETURN(uint64_t ino, U64(r, "ino"));
  ASSIGN_OR_RETURN(std::string type, Str(r, "type"));
  ASSIGN_OR_RETURN(a.type, ParseType(type));
  ASSIGN_OR_RETURN(a.mode, U32(r, "mode"));
  if (a.mode > 07777) return Status::Corruption("field 'mode' has type bits");
  ASSIGN_OR_RETURN(a.uid, U32(r, "uid"));
  ASSIGN_OR_RETURN(a.gid, U32(r, "gid"));
  ASSIGN_OR_RETURN(a.atime, GetTime(r, "atime"));
  ASSIGN_OR_RETURN(a.mtime, GetTime(r, "mtime"));
  ASSIGN_OR_RETURN(a.ctime, GetTime(r, "ctime"));
  ASSIGN_OR_RETURN(a.nlink, U32(r, "nlink"));
  ASSIGN_OR_RETURN(a.length, U64(r, "length"));
  ASSIGN_OR_RETURN(a.rdev, U32(r, "rdev"));
  ASSIGN_OR_RETURN(a.parent, U64(r, "parent"));
  ASSIGN_OR_RETURN(a.flags, U32(r, "flags"));
  return kv::KeyValue{schema::AttrKey(ino), schema::EncodeAttr(a)};
}

Result<kv::KeyValue> DecodeChunkRecord(const json& r) {
  ASSIGN_OR_RETURN(uint64_t ino, U64(r, "ino"));
  ASSIGN_OR_RETURN(uint32_t index, U32(r, "index"));
  auto it = r.find("slices");
  if (it == r.end() || !it->is_array()) return Status::Corruption("field 'slices' missing");
  std::string list;
  for (const auto& s : *it) {
    if (!s.is_array() || s.size() != 5) return Status::Corruption("a slice is not 5 numbers");
    for (const auto& n : s) {
      if (!n.is_number_unsigned()) return Status::Corruption("a slice field is not unsigned");
    }
    if (s[0].get<uint64_t>() > UINT32_MAX || s[2].get<uint64_t>() > UINT32_MAX ||
        s[3].get<uint64_t>() > UINT32_MAX || s[4].get<uint64_t>() > UINT32_MAX) {
      return Status::Corruption("a slice field is out of range");
    }
    schema::AppendSlice(
        &list, meta::Slice{s[0].get<uint32_t>(), s[1].get<uint64_t>(), s[2].get<uint32_t>(),
                           s[3].get<uint32_t>(), s[4].get<uint32_t>()});
  }
  if (list.empty()) return Status::Corruption("empty slice list");
  return kv::KeyValue{schema::ChunkKey(ino, index), std::move(list)};
}

std::string Pair64(int64_t a, int64_t b) {
  std::string v = schema::EncodeI64(a);
  v += schema::EncodeI64(b);
  return v;
}

}  // namespace

Result<kv::KeyValue> DecodeRecord(const json& r) {
  if (!r.is_object()) return Status::Corruption("record is not a JSON object");
  ASSIGN_OR_RETURN(std::string t, Str(r, "t"));
  if (t == "attr") return DecodeAttrRecord(r);
  if (t == "chunk") return DecodeChunkRecord(r);
  if (t == "setting") {
    auto it = r.find("value");
    if (it == r.end() || !it->is_object()) return Status::Corruption("field 'value' not an object");
    return kv::KeyValue{schema::SettingKey(), it->dump()};
  }
  if (t == "counter") {
    ASSIGN_OR_RETURN(std::string name, Str(r, "name"));
    auto it = r.find("value");
    if (it == r.end() || !it->is_number_integer()) {
      return Status::Corruption("field 'value' missing or not an integer");
    }
    uint64_t v =
        it->is_number_unsigned() ? it->get<uint64_t>() : static_cast<uint64_t>(it->get<int64_t>());
    if (name == "usedSpace" || name == "usedInodes") name += "/0";
    std::string value;
    PutU64BE(&value, v);
    return kv::KeyValue{schema::CounterKey(name), std::move(value)};
  }
  if (t == "entry") {
    ASSIGN_OR_RETURN(uint64_t dir, U64(r, "dir"));
    ASSIGN_OR_RETURN(std::string name, GetBytes(r, "name"));
    ASSIGN_OR_RETURN(std::string type, Str(r, "type"));
    ASSIGN_OR_RETURN(meta::FileType ft, ParseType(type));
    ASSIGN_OR_RETURN(uint64_t ino, U64(r, "ino"));
    if (name.empty() || name.size() > meta::kMaxNameLen || name.find('/') != std::string::npos ||
        name.find('\0') != std::string::npos) {
      return Status::Corruption("bad entry name");
    }
    return kv::KeyValue{schema::EntryKey(dir, name), schema::EncodeEntry(ft, ino)};
  }
  if (t == "xattr") {
    ASSIGN_OR_RETURN(uint64_t ino, U64(r, "ino"));
    ASSIGN_OR_RETURN(std::string name, GetBytes(r, "name"));
    ASSIGN_OR_RETURN(std::string value, GetBytes(r, "value"));
    return kv::KeyValue{schema::XattrKey(ino, name), std::move(value)};
  }
  if (t == "symlink") {
    ASSIGN_OR_RETURN(uint64_t ino, U64(r, "ino"));
    ASSIGN_OR_RETURN(std::string target, GetBytes(r, "target"));
    return kv::KeyValue{schema::SymlinkKey(ino), std::move(target)};
  }
  if (t == "link_parent") {
    ASSIGN_OR_RETURN(uint64_t ino, U64(r, "ino"));
    ASSIGN_OR_RETURN(uint64_t dir, U64(r, "dir"));
    ASSIGN_OR_RETURN(uint32_t count, U32(r, "count"));
    std::string v;
    PutU32BE(&v, count);
    return kv::KeyValue{schema::ParentKey(ino, dir), std::move(v)};
  }
  if (t == "ref" || t == "garbage") {
    ASSIGN_OR_RETURN(uint64_t id, U64(r, "id"));
    ASSIGN_OR_RETURN(uint32_t size, U32(r, "size"));
    if (t == "garbage") return kv::KeyValue{schema::GarbageSliceKey(id, size), ""};
    ASSIGN_OR_RETURN(int64_t count, I64(r, "count"));
    return kv::KeyValue{schema::SliceRefKey(id, size), schema::EncodeI64(count)};
  }
  if (t == "deleted") {
    ASSIGN_OR_RETURN(uint64_t ino, U64(r, "ino"));
    ASSIGN_OR_RETURN(uint64_t length, U64(r, "length"));
    ASSIGN_OR_RETURN(int64_t time, I64(r, "time"));
    return kv::KeyValue{schema::DeletedFileKey(ino, length), schema::EncodeI64(time)};
  }
  if (t == "usage") {
    ASSIGN_OR_RETURN(uint64_t ino, U64(r, "ino"));
    ASSIGN_OR_RETURN(int64_t bytes, I64(r, "bytes"));
    ASSIGN_OR_RETURN(int64_t inodes, I64(r, "inodes"));
    return kv::KeyValue{InoKey('U', ino), Pair64(bytes, inodes)};
  }
  if (t == "quota") {
    ASSIGN_OR_RETURN(uint64_t ino, U64(r, "ino"));
    meta::quota::Record q;
    ASSIGN_OR_RETURN(q.max_bytes, U64(r, "bytes"));
    ASSIGN_OR_RETURN(q.max_inodes, U64(r, "inodes"));
    ASSIGN_OR_RETURN(q.used_bytes, I64(r, "used_bytes"));
    ASSIGN_OR_RETURN(q.used_inodes, I64(r, "used_inodes"));
    return kv::KeyValue{InoKey('Q', ino), meta::quota::EncodeRecord(q)};
  }
  if (t == "raw") {
    ASSIGN_OR_RETURN(std::string key, GetBytes(r, "key"));
    ASSIGN_OR_RETURN(std::string value, GetBytes(r, "value"));
    if (key.empty()) return Status::Corruption("raw record with an empty key");
    return kv::KeyValue{std::move(key), std::move(value)};
  }
  return Status::Corruption("unknown record type '" + t + "'");
}

}  // namespace strata::dump

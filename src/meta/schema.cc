#include "meta/schema.h"

#include "common/bytes.h"

namespace strata::meta::schema {

namespace {
std::string Kind(char c, Ino ino) {
  std::string k(1, c);
  PutU64BE(&k, ino);
  return k;
}
std::string InodeKey(Ino ino, char sub) {
  std::string k = Kind('A', ino);
  k.push_back(sub);
  return k;
}
void PutTime(std::string* dst, const Timespec& t) {
  PutU64BE(dst, static_cast<uint64_t>(t.sec));
  PutU32BE(dst, t.nsec);
}
bool ReadTime(ByteReader* r, Timespec* t) {
  uint64_t s;
  if (!r->ReadU64(&s) || !r->ReadU32(&t->nsec)) return false;
  t->sec = static_cast<int64_t>(s);
  return true;
}
}  // namespace

std::string SettingKey() { return "setting"; }
std::string CounterKey(std::string_view name) { return "C" + std::string(name); }
std::string AttrKey(Ino ino) { return InodeKey(ino, 'I'); }
std::string EntryKey(Ino parent, std::string_view name) {
  return InodeKey(parent, 'D') + std::string(name);
}
std::string EntryPrefix(Ino parent) { return InodeKey(parent, 'D'); }
std::string ChunkKey(Ino ino, uint32_t chunk) {
  std::string k = InodeKey(ino, 'C');
  PutU32BE(&k, chunk);
  return k;
}
std::string ChunkPrefix(Ino ino) { return InodeKey(ino, 'C'); }
std::string XattrKey(Ino ino, std::string_view name) {
  return InodeKey(ino, 'X') + std::string(name);
}
std::string XattrPrefix(Ino ino) { return InodeKey(ino, 'X'); }
std::string SymlinkKey(Ino ino) { return InodeKey(ino, 'S'); }
std::string ParentKey(Ino ino, Ino parent) {
  std::string k = InodeKey(ino, 'P');
  PutU64BE(&k, parent);
  return k;
}
std::string ParentPrefix(Ino ino) { return InodeKey(ino, 'P'); }
std::string InodePrefix(Ino ino) { return Kind('A', ino); }
std::string SliceRefKey(uint64_t slice_id, uint32_t size) {
  std::string k = Kind('K', slice_id);
  PutU32BE(&k, size);
  return k;
}
std::string GarbageSliceKey(uint64_t slice_id, uint32_t size) {
  std::string k = Kind('G', slice_id);
  PutU32BE(&k, size);
  return k;
}
std::string GarbagePrefix() { return "G"; }
std::string DeletedFileKey(Ino ino, uint64_t length) {
  std::string k = Kind('D', ino);
  PutU64BE(&k, length);
  return k;
}
std::string DeletedFilePrefix() { return "D"; }
std::string SessionKey(uint64_t sid) {
  std::string k = "SE";
  PutU64BE(&k, sid);
  return k;
}
std::string SessionPrefix() { return "SE"; }
std::string SustainedKey(uint64_t sid, Ino ino) {
  std::string k = SustainedPrefix(sid);
  PutU64BE(&k, ino);
  return k;
}
std::string SustainedPrefix(uint64_t sid) {
  std::string k = "SS";
  PutU64BE(&k, sid);
  return k;
}
std::string FlockKey(Ino ino) { return Kind('F', ino); }
std::string PosixLockKey(Ino ino) { return Kind('P', ino); }
std::string UsageKey(Ino ino) { return Kind('U', ino); }
std::string QuotaKey(Ino ino) { return Kind('Q', ino); }

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char c = static_cast<unsigned char>(end.back());
    if (c != 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

bool ParseEntryKey(std::string_view key, Ino* parent, std::string* name) {
  if (key.size() < 10 || key[0] != 'A' || key[9] != 'D') return false;
  *parent = GetU64BE(key.data() + 1);
  name->assign(key.substr(10));
  return true;
}
bool ParseAttrKey(std::string_view key, Ino* ino) {
  if (key.size() != 10 || key[0] != 'A' || key[9] != 'I') return false;
  *ino = GetU64BE(key.data() + 1);
  return true;
}
bool ParseChunkKey(std::string_view key, Ino* ino, uint32_t* chunk) {
  if (key.size() != 14 || key[0] != 'A' || key[9] != 'C') return false;
  *ino = GetU64BE(key.data() + 1);
  *chunk = GetU32BE(key.data() + 10);
  return true;
}
bool ParseSliceKey(std::string_view key, uint64_t* slice_id, uint32_t* size) {
  if (key.size() != 13 || (key[0] != 'K' && key[0] != 'G')) return false;
  *slice_id = GetU64BE(key.data() + 1);
  *size = GetU32BE(key.data() + 9);
  return true;
}
bool ParseDeletedFileKey(std::string_view key, Ino* ino, uint64_t* length) {
  if (key.size() != 17 || key[0] != 'D') return false;
  *ino = GetU64BE(key.data() + 1);
  *length = GetU64BE(key.data() + 9);
  return true;
}
bool ParseSustainedKey(std::string_view key, uint64_t* sid, Ino* ino) {
  if (key.size() != 18 || key.substr(0, 2) != "SS") return false;
  *sid = GetU64BE(key.data() + 2);
  *ino = GetU64BE(key.data() + 10);
  return true;
}

std::string EncodeAttr(const Attr& a) {
  std::string s;
  s.reserve(80);
  PutU8(&s, 1);
  PutU8(&s, static_cast<uint8_t>(a.type));
  PutU32BE(&s, a.mode);
  PutU32BE(&s, a.uid);
  PutU32BE(&s, a.gid);
  PutTime(&s, a.atime);
  PutTime(&s, a.mtime);
  PutTime(&s, a.ctime);
  PutU32BE(&s, a.nlink);
  PutU64BE(&s, a.length);
  PutU32BE(&s, a.rdev);
  PutU64BE(&s, a.parent);
  PutU32BE(&s, a.flags);
  return s;
}

Result<Attr> DecodeAttr(std::string_view data) {
  ByteReader r(data);
  Attr a;
  uint8_t version, type;
  bool ok = r.ReadU8(&version) && version == 1 && r.ReadU8(&type) && r.ReadU32(&a.mode) &&
            r.ReadU32(&a.uid) && r.ReadU32(&a.gid) && ReadTime(&r, &a.atime) &&
            ReadTime(&r, &a.mtime) && ReadTime(&r, &a.ctime) && r.ReadU32(&a.nlink) &&
            r.ReadU64(&a.length) && r.ReadU32(&a.rdev) && r.ReadU64(&a.parent) &&
            r.ReadU32(&a.flags);
  if (!ok || type < 1 || type > 7) return Status::Corruption("undecodable attribute record");
  a.type = static_cast<FileType>(type);
  return a;
}

std::string EncodeEntry(FileType type, Ino ino) {
  std::string s;
  PutU8(&s, static_cast<uint8_t>(type));
  PutU64BE(&s, ino);
  return s;
}

Status DecodeEntry(std::string_view data, FileType* type, Ino* ino) {
  if (data.size() != 9 || data[0] < 1 || data[0] > 7) {
    return Status::Corruption("undecodable directory entry");
  }
  *type = static_cast<FileType>(data[0]);
  *ino = GetU64BE(data.data() + 1);
  return Status::OK();
}

void AppendSlice(std::string* list, const Slice& s) {
  PutU32BE(list, s.pos);
  PutU64BE(list, s.id);
  PutU32BE(list, s.size);
  PutU32BE(list, s.off);
  PutU32BE(list, s.len);
}

Result<std::vector<Slice>> DecodeSlices(std::string_view data) {
  if (data.size() % 24 != 0) return Status::Corruption("slice list length not a multiple of 24");
  std::vector<Slice> out;
  out.reserve(data.size() / 24);
  for (size_t i = 0; i < data.size(); i += 24) {
    const char* p = data.data() + i;
    out.push_back(Slice{GetU32BE(p), GetU64BE(p + 4), GetU32BE(p + 12), GetU32BE(p + 16),
                        GetU32BE(p + 20)});
  }
  return out;
}

std::string EncodeI64(int64_t v) {
  std::string s;
  PutU64BE(&s, static_cast<uint64_t>(v));
  return s;
}

int64_t DecodeI64(std::string_view data) {
  if (data.size() != 8) return 0;
  return static_cast<int64_t>(GetU64BE(data.data()));
}

}  // namespace strata::meta::schema

// Entry operations: Lookup ("." and ".."), Mknod, Mkdir, Symlink, ReadLink and Link. Each
// mutation is one transaction; a create reads the parent attr and the entry in one BatchGet.
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/quota_record.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

constexpr uint32_t kSetgid = 02000;

kv::TxnOptions ReadOnlyTxn() {
  kv::TxnOptions o;
  o.read_only = true;
  return o;
}

// Name check for a name about to be created: "." and ".." exist already.
Status CheckNewName(const std::string& name) {
  if (name == "." || name == "..") return Status::AlreadyExists("name is . or ..");
  return internal::CheckName(name);
}

// The part of a create that runs inside the transaction. `a` holds type, mode, rdev and
// length; ownership, times (`now`), nlink and parent are filled here (inode_init_owner's rules).
Status CreateInTxn(kv::Transaction& txn, const Context& ctx, Ino parent, const std::string& name,
                   Ino ino, const std::string* symlink_target, const Timespec& now, Attr& a) {
  RETURN_IF_ERROR(internal::CheckNotIntoTrash(parent));
  // Everything the create reads, in one round trip: the parent, the name, the usage limits.
  std::vector<std::string> keys = {schema::AttrKey(parent), schema::EntryKey(parent, name)};
  for (auto& k : internal::UsageLimitKeys()) keys.push_back(std::move(k));
  ASSIGN_OR_RETURN(auto raw, txn.BatchGet(keys));
  ASSIGN_OR_RETURN(Attr dir, internal::CheckDir(raw[0], ctx, 3));
  if (raw[1]) return Status::AlreadyExists("'" + name + "' exists");
  a.uid = ctx.uid;
  a.gid = ctx.gid;
  if (dir.mode & kSetgid) {
    // A setgid directory hands its group down, and setgid itself to subdirectories.
    a.gid = dir.gid;
    if (a.type == FileType::kDirectory) a.mode |= kSetgid;
  }
  if (a.type != FileType::kDirectory && (a.mode & (kSetgid | 0010)) == (kSetgid | 0010) &&
      ctx.uid != 0 && !ctx.InGroup(a.gid)) {
    a.mode &= ~kSetgid;
  }
  a.atime = a.mtime = a.ctime = now;
  a.nlink = a.type == FileType::kDirectory ? 2 : 1;
  a.parent = parent;
  RETURN_IF_ERROR(internal::UpdateUsage(txn, parent, internal::UsageBytes(a), 1));
  if (a.type == FileType::kDirectory) dir.nlink++;
  internal::TouchDir(dir, now);
  internal::WriteAttr(txn, parent, dir);
  // A new directory's attr key was never written (ids are never reused): so hinted, this
  // client's commit observers know the directory starts empty (dir_names_cache.h).
  if (a.type == FileType::kDirectory) txn.HintAbsent(schema::AttrKey(ino));
  internal::WriteAttr(txn, ino, a);
  txn.Put(schema::EntryKey(parent, name), schema::EncodeEntry(a.type, ino));
  if (symlink_target) txn.Put(schema::SymlinkKey(ino), *symlink_target);
  // Inode ids are never reused: the new file has no slice list, and its first slice commit
  // need not ask the engine for one (an engine with a read cache takes the hint).
  if (a.type == FileType::kRegular) txn.HintAbsent(schema::ChunkKey(ino, 0));
  return Status::OK();
}

}  // namespace

void Meta::ExpectAbsentName(kv::Transaction& txn, Ino parent, const std::string& name,
                            int* attempts) {
  if ((*attempts)++ == 0 && dir_names_ && dir_names_->KnownAbsent(parent, name)) {
    txn.ExpectAbsent(schema::EntryKey(parent, name));
  }
}

Result<Entry> Meta::Lookup(const Context& ctx, Ino parent, const std::string& name) {
  if (name.size() > kMaxNameLen) return Status(Code::kNameTooLong, "name too long");
  if (dir_names_ && name != "." && name != ".." && !(parent == kRootIno && name == ".trash")) {
    // A name this client knows is not there (its own recent commits in the directory):
    // answered without a round trip, after the same checks the engine's answer would get.
    if (auto dir = dir_names_->KnownAbsent(parent, name)) {
      RETURN_IF_ERROR(internal::CheckName(name));
      RETURN_IF_ERROR(internal::CheckDir(*dir, ctx, 1).status());
      return Status::NotFound("'" + name + "' not found");
    }
  }
  Entry out;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        if (name == "." || name == "..") {
          ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(parent)));
          ASSIGN_OR_RETURN(Attr dir, internal::CheckDir(raw, ctx, 1));
          if (name == ".") {
            out = Entry{parent, dir};
            return Status::OK();
          }
          const Ino up = dir.parent == 0 ? kRootIno : dir.parent;
          ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, up));
          out = Entry{up, a};
          return Status::OK();
        }
        RETURN_IF_ERROR(internal::CheckName(name));
        ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(parent),
                                                 schema::EntryKey(parent, name)}));
        ASSIGN_OR_RETURN(Attr dir, internal::CheckDir(raw[0], ctx, 1));
        (void)dir;
        if (!raw[1]) {
          // /.trash is not an entry of the root (readdir does not list it) but is reachable by
          // name once it exists, so users can list and restore trashed files.
          if (parent == kRootIno && name == ".trash") {
            ASSIGN_OR_RETURN(auto trash, txn.Get(schema::AttrKey(kTrashIno)));
            if (trash) {
              ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*trash));
              out = Entry{kTrashIno, a};
              return Status::OK();
            }
          }
          return Status::NotFound("'" + name + "' not found");
        }
        FileType type;
        Ino ino;
        RETURN_IF_ERROR(schema::DecodeEntry(*raw[1], &type, &ino));
        ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, ino));
        out = Entry{ino, a};
        return Status::OK();
      },
      ReadOnlyTxn()));
  return out;
}

Result<Entry> Meta::Mknod(const Context& ctx, Ino parent, const std::string& name, FileType type,
                          uint32_t mode, uint32_t rdev) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (type == FileType::kDirectory || type == FileType::kSymlink) {
    return Status::InvalidArgument("mknod makes files, fifos, sockets and devices only");
  }
  RETURN_IF_ERROR(CheckNewName(name));
  ASSIGN_OR_RETURN(Ino ino, NextId(inode_ids_, internal::kNextInodeCounter));
  Attr a;
  int attempts = 0;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    a = Attr{};
    a.type = type;
    a.mode = mode & 07777;
    a.rdev = (type == FileType::kBlockDev || type == FileType::kCharDev) ? rdev : 0;
    ExpectAbsentName(txn, parent, name, &attempts);
    return CreateInTxn(txn, ctx, parent, name, ino, nullptr, internal::Now(*clock_), a);
  }));
  no_xattrs_.Add(ino);  // a new inode has none
  return Entry{ino, a};
}

Result<Entry> Meta::Mkdir(const Context& ctx, Ino parent, const std::string& name, uint32_t mode) {
  if (options_.read_only) return internal::ReadOnlyError();
  RETURN_IF_ERROR(CheckNewName(name));
  ASSIGN_OR_RETURN(Ino ino, NextId(inode_ids_, internal::kNextInodeCounter));
  Attr a;
  int attempts = 0;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    a = Attr{};
    a.type = FileType::kDirectory;
    a.mode = mode & 07777;
    a.length = 4096;
    ExpectAbsentName(txn, parent, name, &attempts);
    return CreateInTxn(txn, ctx, parent, name, ino, nullptr, internal::Now(*clock_), a);
  }));
  no_xattrs_.Add(ino);  // a new inode has none
  return Entry{ino, a};
}

Result<Entry> Meta::Symlink(const Context& ctx, Ino parent, const std::string& name,
                            const std::string& target) {
  if (options_.read_only) return internal::ReadOnlyError();
  RETURN_IF_ERROR(CheckNewName(name));
  if (target.empty()) return Status::NotFound("empty symlink target");
  if (target.size() >= kMaxSymlinkLen) return Status(Code::kNameTooLong, "symlink target too long");
  ASSIGN_OR_RETURN(Ino ino, NextId(inode_ids_, internal::kNextInodeCounter));
  Attr a;
  int attempts = 0;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    a = Attr{};
    a.type = FileType::kSymlink;
    a.mode = 0777;
    a.length = target.size();
    ExpectAbsentName(txn, parent, name, &attempts);
    return CreateInTxn(txn, ctx, parent, name, ino, &target, internal::Now(*clock_), a);
  }));
  return Entry{ino, a};
}

Result<std::string> Meta::ReadLink(Ino ino) {
  std::string out;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(auto raw, txn.Get(schema::SymlinkKey(ino)));
        if (raw) {
          out = std::move(*raw);
          return Status::OK();
        }
        ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, ino));  // kNotFound if no inode
        if (a.type != FileType::kSymlink) return Status::InvalidArgument("not a symlink");
        return Status::Corruption("symlink " + std::to_string(ino) + " has no target");
      },
      ReadOnlyTxn()));
  return out;
}

Result<Entry> Meta::Link(const Context& ctx, Ino ino, Ino new_parent, const std::string& new_name) {
  if (options_.read_only) return internal::ReadOnlyError();
  RETURN_IF_ERROR(CheckNewName(new_name));
  RETURN_IF_ERROR(internal::CheckNotIntoTrash(new_parent));
  Attr out;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw,
                     txn.BatchGet({schema::AttrKey(ino), schema::AttrKey(new_parent),
                                   schema::EntryKey(new_parent, new_name),
                                   quota::EpochKey()}));  // for quota charges
    if (!raw[0]) return Status::NotFound("no such inode");
    ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw[0]));
    if (a.type == FileType::kDirectory) {
      return Status(Code::kNotPermitted, "hard links to directories are not allowed");
    }
    if (a.nlink == 0) return Status::NotFound("inode was unlinked");
    ASSIGN_OR_RETURN(Attr dir, internal::CheckDir(raw[1], ctx, 3));
    if (raw[2]) return Status::AlreadyExists("'" + new_name + "' exists");
    if (a.nlink >= internal::kMaxLinks) return Status(Code::kTooManyLinks, "too many links");
    const Timespec now = internal::Now(*clock_);
    if (a.parent != 0) {
      // First extra link: the single parent moves out of the attr into a parent record.
      internal::WriteParentCount(txn, ino, a.parent, 1);
      a.parent = 0;
    }
    // Read after the write above: a second link into the same directory counts to 2.
    ASSIGN_OR_RETURN(uint32_t n, internal::ReadParentCount(txn, ino, new_parent));
    internal::WriteParentCount(txn, ino, new_parent, n + 1);
    a.nlink++;
    a.ctime = now;
    internal::WriteAttr(txn, ino, a);
    internal::TouchDir(dir, now);
    internal::WriteAttr(txn, new_parent, dir);
    txn.Put(schema::EntryKey(new_parent, new_name), schema::EncodeEntry(a.type, ino));
    RETURN_IF_ERROR(internal::UpdateDirUsage(txn, new_parent, internal::UsageBytes(a), 1));
    out = a;
    return Status::OK();
  }));
  return Entry{ino, out};
}

Result<Ino> Meta::ResolveDir(const std::string& path) {
  Ino cur = kRootIno;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    const std::string part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    ASSIGN_OR_RETURN(Entry e, Lookup(Context{}, cur, part));
    if (e.attr.type != FileType::kDirectory) {
      return Status(Code::kNotDir, part + " is not a directory");
    }
    cur = e.ino;
  }
  return cur;
}

}  // namespace strata::meta

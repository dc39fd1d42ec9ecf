// FileStore: the file:///dir backend, objects kept as plain files under a local directory.
// It is the store of the embedded single-machine set-up and of most tests.
//
// Layout (version 1, see also docs/format when it exists): key "a/b/c" is the file DIR/a/b/c;
// '/' separates directories. In each path segment '%' is written "%25", and the segments
// "", "." and ".." are written "%", "%2E" and "%2E%2E", so any key maps to a valid path (a key
// ending in '/' becomes a file named "%"). Names that do not decode canonically (temporary
// files "%tmp-…", the multipart staging directory "%multipart") are never listed.
// A segment longer than 255 bytes gives kNameTooLong. A key cannot be both an object and a
// directory of other keys ("a" and "a/b"): that Put fails with kAlreadyExists.
//
// Atomicity and durability (DESIGN.md §6): Put writes a uniquely named temporary file in the
// target directory and rename()s it over the key, so readers see the old or the new body,
// never a part, and several processes may write the same store at once. With
// PutOptions::sync the file is fsync'ed before the rename and its directory after it;
// without, the file and its directory entry are not flushed (the renamed file survives a
// crash of the process, not a power loss). Either way, a directory Put creates is made
// durable at once (its parent is fsync'ed after the mkdir): that happens once per directory
// (block keys share a directory per 1000 slices), and it means that a later Sync needs to
// flush only the file and the directory holding it. Sync(keys) fsyncs each existing key's
// file (many keys by up to 16 threads at once, so their flushes are shared), then each
// distinct directory holding one; missing keys (and keys naming a directory of other keys)
// are skipped. Delete removes directories it leaves empty.
//
// Multipart uploads are staged on disk in DIR/%multipart/UPLOAD_ID/ (one file per part);
// Complete concatenates the parts into a temporary file and renames it into place.
//
// Every disk access goes through an Env (common/env.h): the process's PosixEnv by default;
// a MemEnv runs the store in memory, a FaultyEnv fails chosen steps (ENOSPC on a write, EIO
// on an fsync) so callers' handling of a full or failing disk can be tested. Each write is
// Env::WriteFileAtomic with a "%tmp-" temporary name, so a failed one leaves nothing behind.
//
// Errors: kNotFound for a missing key or upload; errno-mapped Status otherwise (ENOSPC ->
// kNoSpace, EACCES -> kPermissionDenied), each naming the key or path.
// Thread-safety: all methods may be called concurrently, also from several processes.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "common/env.h"
#include "object/object_store.h"

namespace strata::object {

class FileStore : public ObjectStore {
 public:
  struct Options {
    bool create_if_missing = true;  // mkdir -p the root directory when it does not exist
    // The Env every disk access goes through. nullptr (default): a PosixEnv owned by the
    // store. Not owned otherwise; it must outlive the store.
    Env* env = nullptr;
  };
  // `root` must be an absolute path. Fails with a one-line error when the directory is
  // missing (and may not be created), not a directory, or not writable (a probe file is
  // created and removed to find out).
  static Result<std::unique_ptr<FileStore>> Open(const std::string& root, const Options& options);
  static Result<std::unique_ptr<FileStore>> Open(const std::string& root) {
    return Open(root, Options());
  }
  // The store on the given Env (not owned; must outlive the store), e.g. a FaultyEnv in tests.
  static Result<std::unique_ptr<FileStore>> Open(const std::string& root, Env* env) {
    Options options;
    options.env = env;
    return Open(root, options);
  }

  std::string Describe() const override { return "file://" + root_; }
  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override;
  // The file read straight into the buffer (no zero-fill).
  Result<BlockBuffer> GetBuffer(const std::string& key) override;
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override;
  // The parts appended one after the other to the temporary file: never joined in memory.
  Status PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                  const PutOptions& opts) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<ListResult> List(const ListOptions& opts) override;
  Result<std::string> CreateMultipart(const std::string& key) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, std::string_view data) override;
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<PartInfo>& parts) override;
  Status AbortMultipart(const std::string& key, const std::string& upload_id) override;
  Result<std::vector<PartInfo>> ListParts(const std::string& key,
                                          const std::string& upload_id) override;
  Status Sync(const std::vector<std::string>& keys) override;

  const std::string& root() const { return root_; }

 private:
  FileStore(std::unique_ptr<Env> own_env, Env* env, std::string root);

  // Path of the file holding `key`.
  Result<std::string> KeyPath(const std::string& key) const;
  // The file of `key` opened for Get/GetBuffer: kNotFound "no such key" when it is missing
  // (or a directory of other keys), else the Env's error with "get KEY".
  Result<std::unique_ptr<RandomAccessFile>> OpenObject(const std::string& key);
  // A name for a temporary file, unique across threads and processes.
  std::string TempName();
  // Creates the directories of `dir` below root_ (which must exist) and fsyncs the parent of
  // each directory it created, so every directory leading to an object is durable.
  Status MakeDirs(const std::string& dir) const;
  // Sync of one key: fsyncs its file and adds its directory to *dirs; a missing key is OK.
  Status SyncFile(const std::string& key, std::set<std::string>* dirs) const;
  // Creates the directory of `path` (MakeDirs) and writes `path` with Env::WriteFileAtomic
  // (a "%tmp-" temporary name there, `fill` writing its content); retries when a concurrent
  // Delete removed the directory meanwhile.
  Status WriteAtomically(const std::string& key, const std::string& path, bool sync,
                         const std::function<Status(WritableFile& file)>& fill);
  // One directory level below root_: *created tells whether this call made it.
  Status MakeDir(const std::string& path, bool* created) const;
  // Removes empty directories from `dir` up to (not including) root_.
  void PruneEmptyDirs(std::string dir) const;
  // Staging directory of an upload; kNotFound unless it exists and was created for `key`.
  Result<std::string> UploadDir(const std::string& key, const std::string& upload_id) const;

  const std::unique_ptr<Env> own_env_;  // the default PosixEnv, when no Env was given
  Env* const env_;
  const std::string root_;
  const std::string temp_prefix_;  // "%tmp-PID-RANDOM-"
  std::atomic<uint64_t> temp_counter_{0};
};

}  // namespace strata::object

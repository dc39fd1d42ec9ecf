// VolumeEndpoint: a sync endpoint that reads or writes a StrataFS volume directly through the
// composition root (client::Client + vfs::Volume), without FUSE: `strata://[/DIR]` with the
// volume's META_URL given separately (--src-meta / --dst-meta). Everything a path endpoint
// keeps is kept (mode, owner, nanosecond times, symlinks, xattrs, hard links: identity = the
// volume's inode number), acting as root. Files are written as ".NAME.strata-sync" in the
// target directory and renamed over NAME once flushed (committed), as PathEndpoint does.
//
// Ownership: owns its Client (session, data path); the destructor flushes and closes it.
// Memory: the walk holds the entries of the directories on the current path.
// Thread-safety: vfs::Volume is thread-safe; every method may run on many threads.
// Errors: the volume's Status codes, with the path.
#pragma once

#include <memory>
#include <string>

#include "client/builtins.h"
#include "client/client.h"
#include "sync/endpoint.h"

namespace strata::sync {

class VolumeEndpoint : public Endpoint {
 public:
  // Opens META_URL read-only (a source) or read-write (a destination, with a session). `dir`
  // is the volume path used as the root ("" or "/" for the whole volume); a destination
  // creates it when missing. The registries are borrowed.
  static Result<std::unique_ptr<VolumeEndpoint>> Open(const client::Registries& registries,
                                                      const std::string& meta_url,
                                                      const std::string& dir, bool write);
  ~VolumeEndpoint() override;

  std::string Describe() const override;
  bool has_attributes() const override { return true; }
  Status List(const std::function<Status(const Item&)>& fn) override;
  Result<std::unique_ptr<FileReader>> OpenRead(const Item& item) override;
  Result<std::unique_ptr<FileWriter>> OpenWrite(const std::string& path, const Item& src) override;
  Status Delete(const std::string& path) override;
  Status MakeDir(const std::string& path) override;
  Result<std::string> ReadLink(const std::string& path) override;
  Status MakeSymlink(const std::string& path, const std::string& target) override;
  Status MakeLink(const std::string& existing, const std::string& path) override;
  Result<Item> Stat(const std::string& path) override;
  Result<std::map<std::string, std::string>> GetXattrs(const std::string& path) override;
  Status SetAttributes(const std::string& path, const Item& attrs,
                       const std::map<std::string, std::string>& xattrs) override;

 private:
  VolumeEndpoint(std::unique_ptr<client::Client> c, std::string dir, std::string label);
  // The inode at a relative path ("" = the root); kNotFound when missing.
  Result<vfs::Ino> Resolve(const std::string& rel);
  // The parent directory's inode (created when `create`) and the last name of `rel`.
  Result<vfs::Ino> Parent(const std::string& rel, bool create, std::string* name);
  Status Walk(vfs::Ino dir, const std::string& rel, const std::function<Status(const Item&)>& fn);
  Status RemoveName(vfs::Ino parent, const std::string& name);

  std::unique_ptr<client::Client> client_;
  vfs::Volume& v_;
  const std::string dir_;    // "a/b" relative to the volume root, "" for all
  const std::string label_;  // strata://DIR on META (no secrets)
  const vfs::Context ctx_;   // root
};

}  // namespace strata::sync

// The conformance suite on the local backends: mem:// and file:// (a fresh store per case),
// file:// both on the disk (PosixEnv) and on an in-memory Env (MemEnv), which shows that the
// store reaches the disk only through its Env.
#include "common/mem_env.h"
#include "object/file_store.h"
#include "object/mem_store.h"
#include "tests/object/conformance.h"
#include "tests/support/process.h"

namespace strata::object::conformance {
namespace {

// Owns a file store's temporary directory: removed when the case drops the store.
class TempDirStore : public ObjectStoreWrapper {
 public:
  TempDirStore(std::shared_ptr<ObjectStore> target, std::string dir)
      : ObjectStoreWrapper(std::move(target)), dir_(std::move(dir)) {}
  ~TempDirStore() override { testing::RemoveTree(dir_); }

 private:
  std::string dir_;
};

Result<std::shared_ptr<ObjectStore>> OpenMem() {
  return std::shared_ptr<ObjectStore>(MemStore::Open("conformance"));
}

Result<std::shared_ptr<ObjectStore>> OpenFile() {
  std::string dir = testing::MakeTempDir("strata-conformance");
  if (dir.empty()) return Status::IOError("cannot create a temporary directory");
  ASSIGN_OR_RETURN(std::unique_ptr<FileStore> store, FileStore::Open(dir + "/store"));
  return std::shared_ptr<ObjectStore>(
      std::make_shared<TempDirStore>(std::shared_ptr<ObjectStore>(std::move(store)), dir));
}

// Owns the MemEnv under a file store. The holder is the first base, so it is destroyed after
// the wrapper has released the store.
struct MemEnvHolder {
  std::unique_ptr<MemEnv> env;
};
class MemEnvStore : private MemEnvHolder, public ObjectStoreWrapper {
 public:
  MemEnvStore(std::unique_ptr<MemEnv> env, std::shared_ptr<ObjectStore> target)
      : MemEnvHolder{std::move(env)}, ObjectStoreWrapper(std::move(target)) {}
};

Result<std::shared_ptr<ObjectStore>> OpenFileOnMemEnv() {
  auto env = std::make_unique<MemEnv>();
  ASSIGN_OR_RETURN(std::unique_ptr<FileStore> store, FileStore::Open("/store", env.get()));
  return std::shared_ptr<ObjectStore>(std::make_shared<MemEnvStore>(
      std::move(env), std::shared_ptr<ObjectStore>(std::move(store))));
}

INSTANTIATE_TEST_SUITE_P(
    Local, ObjectStoreConformance,
    ::testing::Values(ConformanceTarget{"mem", OpenMem, {}, false},
                      ConformanceTarget{"file", OpenFile, {"ObjectAndPrefixOfSameName"}, false},
                      ConformanceTarget{
                          "file_memenv", OpenFileOnMemEnv, {"ObjectAndPrefixOfSameName"}, false}),
    ConformanceTargetName);

}  // namespace
}  // namespace strata::object::conformance

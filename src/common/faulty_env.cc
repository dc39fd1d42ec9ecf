#include "common/faulty_env.h"

namespace strata {

namespace {

std::string_view OpName(FaultOp op) {
  switch (op) {
    case FaultOp::kOpen:
      return "open";
    case FaultOp::kRead:
      return "read";
    case FaultOp::kWrite:
      return "append";
    case FaultOp::kSync:
      return "fsync";
    case FaultOp::kClose:
      return "close";
    case FaultOp::kRename:
      return "rename";
    case FaultOp::kRemove:
      return "remove";
    case FaultOp::kMkdir:
      return "mkdir";
    case FaultOp::kList:
      return "list";
    case FaultOp::kStat:
      return "stat";
    case FaultOp::kLock:
      return "lock";
  }
  return "?";
}

class FaultyRandomAccessFile final : public RandomAccessFile {
 public:
  FaultyRandomAccessFile(FaultyEnv* env, std::string path, std::unique_ptr<RandomAccessFile> f)
      : env_(env), path_(std::move(path)), file_(std::move(f)) {}
  Result<size_t> ReadAt(uint64_t offset, size_t n, char* buf) const override {
    RETURN_IF_ERROR(env_->Check(FaultOp::kRead, path_));
    return file_->ReadAt(offset, n, buf);
  }
  Result<uint64_t> Size() const override { return file_->Size(); }

 private:
  FaultyEnv* env_;
  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
};

class FaultyWritableFile final : public WritableFile {
 public:
  FaultyWritableFile(FaultyEnv* env, std::string path, std::unique_ptr<WritableFile> f)
      : env_(env), path_(std::move(path)), file_(std::move(f)) {}
  Status Append(std::string_view data) override {
    RETURN_IF_ERROR(env_->Check(FaultOp::kWrite, path_));
    return file_->Append(data);
  }
  Status Sync() override {
    RETURN_IF_ERROR(env_->Check(FaultOp::kSync, path_));
    return file_->Sync();
  }
  Status Close() override {
    Status injected = env_->Check(FaultOp::kClose, path_);
    Status s = file_->Close();
    return injected.ok() ? s : injected;
  }
  uint64_t Size() const override { return file_->Size(); }

 private:
  FaultyEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> file_;
};

bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

FaultyEnv::FaultyEnv(Env* target) : target_(target) {}

void FaultyEnv::AddRule(const FaultRule& rule) {
  std::lock_guard lock(mu_);
  rules_.push_back(ActiveRule{rule});
}

void FaultyEnv::ClearRules() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

uint64_t FaultyEnv::faults_injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

Status FaultyEnv::Check(FaultOp op, const std::string& path, const std::string& path2) {
  std::lock_guard lock(mu_);
  for (auto& r : rules_) {
    if (r.rule.op != op) continue;
    bool match = HasPrefix(path, r.rule.path_prefix) ||
                 (!path2.empty() && HasPrefix(path2, r.rule.path_prefix));
    if (!match) continue;
    r.calls++;
    uint64_t nth = r.rule.every_nth == 0 ? 1 : r.rule.every_nth;
    if (r.calls % nth != 0) continue;
    if (r.rule.max_faults != 0 && r.fired >= r.rule.max_faults) continue;
    r.fired++;
    injected_++;
    std::string ctx = "injected fault: ";
    ctx += OpName(op);
    ctx += ' ';
    ctx += path;
    return FromErrno(r.rule.error, ctx);
  }
  return Status::OK();
}

Result<std::unique_ptr<RandomAccessFile>> FaultyEnv::NewRandomAccessFile(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kOpen, path));
  ASSIGN_OR_RETURN(auto f, target_->NewRandomAccessFile(path));
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<FaultyRandomAccessFile>(this, path, std::move(f)));
}

Result<std::unique_ptr<WritableFile>> FaultyEnv::NewWritableFile(const std::string& path,
                                                                 OpenMode mode) {
  RETURN_IF_ERROR(Check(FaultOp::kOpen, path));
  ASSIGN_OR_RETURN(auto f, target_->NewWritableFile(path, mode));
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultyWritableFile>(this, path, std::move(f)));
}

Status FaultyEnv::Rename(const std::string& from, const std::string& to, bool no_replace) {
  RETURN_IF_ERROR(Check(FaultOp::kRename, from, to));
  return target_->Rename(from, to, no_replace);
}

Status FaultyEnv::RemoveFile(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kRemove, path));
  return target_->RemoveFile(path);
}

Status FaultyEnv::RemoveDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kRemove, path));
  return target_->RemoveDir(path);
}

Status FaultyEnv::CreateDirs(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kMkdir, path));
  return target_->CreateDirs(path);
}

Status FaultyEnv::CreateDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kMkdir, path));
  return target_->CreateDir(path);
}

Result<std::vector<DirEntry>> FaultyEnv::ListDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kList, path));
  return target_->ListDir(path);
}

Result<FileInfo> FaultyEnv::Stat(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kStat, path));
  return target_->Stat(path);
}

Status FaultyEnv::SyncDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kSync, path));
  return target_->SyncDir(path);
}

Status FaultyEnv::SyncFile(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kSync, path));
  return target_->SyncFile(path);
}

Result<SpaceInfo> FaultyEnv::GetSpace(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kStat, path));
  return target_->GetSpace(path);
}

Result<std::unique_ptr<FileLock>> FaultyEnv::LockFile(const std::string& path, LockType type,
                                                      bool wait) {
  RETURN_IF_ERROR(Check(FaultOp::kLock, path));
  return target_->LockFile(path, type, wait);
}

}  // namespace strata

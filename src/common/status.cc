#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace strata {

namespace {
struct CodeInfo {
  Code code;
  std::string_view name;
  int err;
};
// The single code table: name and errno for each code.
constexpr CodeInfo kCodes[] = {
    {Code::kOk, "OK", 0},
    {Code::kNotFound, "NotFound", ENOENT},
    {Code::kAlreadyExists, "AlreadyExists", EEXIST},
    {Code::kNotEmpty, "NotEmpty", ENOTEMPTY},
    {Code::kIsDir, "IsDir", EISDIR},
    {Code::kNotDir, "NotDir", ENOTDIR},
    {Code::kInvalidArgument, "InvalidArgument", EINVAL},
    {Code::kPermissionDenied, "PermissionDenied", EACCES},
    {Code::kNotPermitted, "NotPermitted", EPERM},
    {Code::kNoSpace, "NoSpace", ENOSPC},
    {Code::kQuotaExceeded, "QuotaExceeded", EDQUOT},
    {Code::kIOError, "IOError", EIO},
    {Code::kCorruption, "Corruption", EIO},
    {Code::kConflict, "Conflict", EAGAIN},
    {Code::kUnavailable, "Unavailable", EIO},
    {Code::kTimeout, "Timeout", ETIMEDOUT},
    {Code::kNotSupported, "NotSupported", EOPNOTSUPP},
    {Code::kNameTooLong, "NameTooLong", ENAMETOOLONG},
    {Code::kLoop, "Loop", ELOOP},
    {Code::kCrossDevice, "CrossDevice", EXDEV},
    {Code::kBusy, "Busy", EBUSY},
    {Code::kInternal, "Internal", EIO},
    {Code::kOutOfRange, "OutOfRange", ERANGE},
    {Code::kNoData, "NoData", ENODATA},
    {Code::kFileTooLarge, "FileTooLarge", EFBIG},
    {Code::kReadOnly, "ReadOnly", EROFS},
    {Code::kWouldBlock, "WouldBlock", EAGAIN},
    {Code::kDeadlock, "Deadlock", EDEADLK},
    {Code::kTooManyLinks, "TooManyLinks", EMLINK},
    {Code::kBadHandle, "BadHandle", EBADF},
    {Code::kCancelled, "Cancelled", ECANCELED},
    {Code::kInterrupted, "Interrupted", EINTR},
    {Code::kTooBig, "TooBig", E2BIG},
    {Code::kOutcomeUnknown, "OutcomeUnknown", EIO},
};

const CodeInfo& Info(Code code) {
  for (const auto& c : kCodes) {
    if (c.code == code) return c;
  }
  return kCodes[static_cast<int>(Code::kInternal)];
}
}  // namespace

std::string_view CodeName(Code code) { return Info(code).name; }

Status::Status(Code code, std::string_view msg) {
  if (code != Code::kOk) rep_ = std::make_unique<Rep>(Rep{code, std::string(msg)});
}

Status::Status(const Status& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  return *this;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(rep_->code));
  if (!rep_->msg.empty()) {
    s += ": ";
    s += rep_->msg;
  }
  return s;
}

bool Status::IsRetryable() const {
  Code c = code();
  return c == Code::kConflict || c == Code::kUnavailable || c == Code::kTimeout;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  if (!rep_->msg.empty()) {
    m += ": ";
    m += rep_->msg;
  }
  return Status(rep_->code, m);
}

int ToErrno(Code code) { return Info(code).err; }

Status FromErrno(int err, std::string_view context) {
  if (err == 0) return Status::OK();
  Code code = Code::kIOError;
  switch (err) {
    case EAGAIN: code = Code::kWouldBlock; break;
    case EIO: code = Code::kIOError; break;
    case ETIMEDOUT: code = Code::kTimeout; break;
    case ENOSYS: code = Code::kNotSupported; break;
    default:
      for (const auto& c : kCodes) {
        if (c.err == err && c.code != Code::kOk) {
          code = c.code;
          break;
        }
      }
  }
  std::string m(context);
  m += m.empty() ? "" : ": ";
  m += std::strerror(err);
  return Status(code, m);
}

}  // namespace strata

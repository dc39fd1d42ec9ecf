// Status and Result<T>: how every StrataFS function reports failure.
//
// A Status is a code from the one table below plus an optional message. An OK Status holds
// a null pointer (the LevelDB trick), so returning success costs nothing. Result<T> holds
// either a T or a non-OK Status.
//
// Conversions happen only at the edges: errno -> Status in Env and engine adapters
// (FromErrno), Status -> errno in fuse/ (ToErrno), Status -> S3 error XML in gateway/.
//
// Thread-safety: values; a const Status may be read from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace strata {

// The one code table. Numbers are stable (they may appear in logs and metrics); never reuse.
enum class Code : uint8_t {
  kOk = 0,
  kNotFound = 1,          // ENOENT; object/key/entry missing
  kAlreadyExists = 2,     // EEXIST
  kNotEmpty = 3,          // ENOTEMPTY
  kIsDir = 4,             // EISDIR
  kNotDir = 5,            // ENOTDIR
  kInvalidArgument = 6,   // EINVAL; bad input, malformed URL or flag
  kPermissionDenied = 7,  // EACCES; also S3 403
  kNotPermitted = 8,      // EPERM
  kNoSpace = 9,           // ENOSPC; disk or volume capacity full
  kQuotaExceeded = 10,    // EDQUOT
  kIOError = 11,          // EIO; generic I/O failure
  kCorruption = 12,       // EIO; checksum mismatch, undecodable record
  kConflict = 13,         // EAGAIN; transaction conflict (retryable by Txn)
  kUnavailable = 14,      // EIO; server unreachable, 503 SlowDown (retryable)
  kTimeout = 15,          // ETIMEDOUT (retryable)
  kNotSupported = 16,     // EOPNOTSUPP / ENOSYS
  kNameTooLong = 17,      // ENAMETOOLONG
  kLoop = 18,             // ELOOP
  kCrossDevice = 19,      // EXDEV
  kBusy = 20,             // EBUSY
  kInternal = 21,         // EIO; a bug
  kOutOfRange = 22,       // ERANGE (xattr buffer too small, invalid range)
  kNoData = 23,           // ENODATA (missing xattr)
  kFileTooLarge = 24,     // EFBIG
  kReadOnly = 25,         // EROFS
  kWouldBlock = 26,       // EAGAIN; lock held by another owner
  kDeadlock = 27,         // EDEADLK
  kTooManyLinks = 28,     // EMLINK
  kBadHandle = 29,        // EBADF
  kCancelled = 30,        // ECANCELED
  kInterrupted = 31,      // EINTR
  kTooBig = 32,           // E2BIG (xattr value too large)
  kOutcomeUnknown = 33,   // EIO; a commit whose reply was lost: it may or may not have applied
                          // (retried only by idempotent operations, see kv::TxnOptions)
};

// Name of a code, e.g. "NotFound".
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string_view msg);
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view m) { return {Code::kNotFound, m}; }
  static Status AlreadyExists(std::string_view m) { return {Code::kAlreadyExists, m}; }
  static Status InvalidArgument(std::string_view m) { return {Code::kInvalidArgument, m}; }
  static Status PermissionDenied(std::string_view m) { return {Code::kPermissionDenied, m}; }
  static Status IOError(std::string_view m) { return {Code::kIOError, m}; }
  static Status Corruption(std::string_view m) { return {Code::kCorruption, m}; }
  static Status Conflict(std::string_view m) { return {Code::kConflict, m}; }
  static Status Unavailable(std::string_view m) { return {Code::kUnavailable, m}; }
  static Status Timeout(std::string_view m) { return {Code::kTimeout, m}; }
  static Status NotSupported(std::string_view m) { return {Code::kNotSupported, m}; }
  static Status Internal(std::string_view m) { return {Code::kInternal, m}; }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  bool Is(Code c) const { return code() == c; }
  // The message without the code name ("" when OK).
  std::string_view message() const { return rep_ ? std::string_view(rep_->msg) : ""; }
  // "NotFound: key a/b" — for logs and one-line CLI errors.
  std::string ToString() const;

  // True when trying the same operation again may succeed: kConflict, kUnavailable, kTimeout.
  bool IsRetryable() const;

  // Returns a copy with "context: " prepended to the message.
  Status WithContext(std::string_view context) const;

 private:
  struct Rep {
    Code code;
    std::string msg;
  };
  std::unique_ptr<Rep> rep_;
};

// errno value for a code (positive, e.g. ENOENT). OK -> 0.
int ToErrno(Code code);
inline int ToErrno(const Status& s) { return ToErrno(s.code()); }
// Status for an errno value, with `context` (usually the path or operation) as message.
Status FromErrno(int err, std::string_view context);

// Result<T>: a T or a non-OK Status. Constructing from an OK Status is a bug (becomes kInternal).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status::Internal("Result constructed from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: for value(): ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // OK when ok(), else the error.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }
  Code code() const { return ok() ? Code::kOk : std::get<Status>(v_).code(); }

 private:
  std::variant<T, Status> v_;
};

#define STRATA_CONCAT_INNER(a, b) a##b
#define STRATA_CONCAT(a, b) STRATA_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::strata::Status _st = (expr);             \
    if (!_st.ok()) return _st;                 \
  } while (0)

// `lhs = value of expr` or return its Status. lhs may declare: ASSIGN_OR_RETURN(auto x, F());
#define ASSIGN_OR_RETURN(lhs, expr)                                    \
  auto STRATA_CONCAT(_res_, __LINE__) = (expr);                        \
  if (!STRATA_CONCAT(_res_, __LINE__).ok())                            \
    return STRATA_CONCAT(_res_, __LINE__).status();                    \
  lhs = std::move(STRATA_CONCAT(_res_, __LINE__)).value()

}  // namespace strata

#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>

namespace strata {
namespace {

constexpr int kLastCode = static_cast<int>(Code::kOutcomeUnknown);

TEST(StatusTest, CodeTableNamesAreUniqueAndErrnosPositive) {
  std::set<std::string_view> names;
  for (int i = 0; i <= kLastCode; i++) {
    Code c = static_cast<Code>(i);
    std::string_view name = CodeName(c);
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    if (c == Code::kOk) {
      EXPECT_EQ(ToErrno(c), 0);
    } else {
      EXPECT_GT(ToErrno(c), 0) << name;
    }
  }
  EXPECT_EQ(CodeName(Code::kNotFound), "NotFound");
  EXPECT_EQ(CodeName(Code::kNoSpace), "NoSpace");
  EXPECT_EQ(ToErrno(Code::kNotFound), ENOENT);
  EXPECT_EQ(ToErrno(Code::kNoSpace), ENOSPC);
  EXPECT_EQ(ToErrno(Code::kQuotaExceeded), EDQUOT);
  EXPECT_EQ(ToErrno(Code::kConflict), EAGAIN);
  EXPECT_EQ(ToErrno(Code::kCorruption), EIO);
  EXPECT_EQ(ToErrno(Code::kNotSupported), EOPNOTSUPP);
}

TEST(StatusTest, CodeToErrnoToCodeRoundTrips) {
  // Several codes share an errno on purpose; they come back as the generic code.
  const std::map<Code, Code> kShared = {
      {Code::kCorruption, Code::kIOError},
      {Code::kUnavailable, Code::kIOError},
      {Code::kInternal, Code::kIOError},
      {Code::kOutcomeUnknown, Code::kIOError},
      {Code::kConflict, Code::kWouldBlock},
  };
  for (int i = 1; i <= kLastCode; i++) {
    Code c = static_cast<Code>(i);
    Code expect = kShared.count(c) ? kShared.at(c) : c;
    EXPECT_EQ(FromErrno(ToErrno(c), "x").code(), expect) << CodeName(c);
  }
}

TEST(StatusTest, ErrnoToCodeToErrnoRoundTrips) {
  for (int e : {ENOENT,       EEXIST,  ENOTEMPTY, EISDIR, ENOTDIR,   EINVAL,    EACCES,
                EPERM,        ENOSPC,  EDQUOT,    EIO,    EAGAIN,    ETIMEDOUT, EOPNOTSUPP,
                ENAMETOOLONG, ELOOP,   EXDEV,     EBUSY,  ERANGE,    ENODATA,   EFBIG,
                EROFS,        EDEADLK, EMLINK,    EBADF,  ECANCELED, EINTR,     E2BIG}) {
    EXPECT_EQ(ToErrno(FromErrno(e, "")), e) << e;
  }
  EXPECT_EQ(FromErrno(EWOULDBLOCK, "").code(), Code::kWouldBlock);
  EXPECT_EQ(FromErrno(ENOSYS, "").code(), Code::kNotSupported);
  EXPECT_EQ(FromErrno(EPROTO, "").code(), Code::kIOError);  // unknown errnos are I/O errors
  EXPECT_TRUE(FromErrno(0, "ctx").ok());
}

TEST(StatusTest, FromErrnoMessageHasContextAndStrerror) {
  Status s = FromErrno(ENOSPC, "append /c/x");
  EXPECT_EQ(s.ToString(), "NoSpace: append /c/x: No space left on device");
  EXPECT_EQ(FromErrno(ENOENT, "").message(), "No such file or directory");
}

TEST(StatusTest, OkErrorCopyAndContext) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.code(), Code::kOk);
  EXPECT_EQ(ok.ToString(), "OK");
  EXPECT_EQ(ok.message(), "");
  EXPECT_TRUE(Status(Code::kOk, "ignored").ok());

  Status nf = Status::NotFound("key a/b");
  EXPECT_FALSE(nf.ok());
  EXPECT_TRUE(nf.Is(Code::kNotFound));
  EXPECT_EQ(nf.ToString(), "NotFound: key a/b");
  Status copy = nf;
  EXPECT_EQ(copy.ToString(), nf.ToString());
  copy = Status::OK();
  EXPECT_TRUE(copy.ok());
  EXPECT_FALSE(nf.ok());  // the copy was independent

  EXPECT_EQ(nf.WithContext("get").ToString(), "NotFound: get: key a/b");
  EXPECT_EQ(Status(Code::kBusy, "").WithContext("lock").ToString(), "Busy: lock");
  EXPECT_TRUE(Status::OK().WithContext("x").ok());
  EXPECT_EQ(Status(Code::kBusy, "").ToString(), "Busy");
}

TEST(StatusTest, OnlyTransientCodesAreRetryable) {
  for (int i = 0; i <= kLastCode; i++) {
    Code c = static_cast<Code>(i);
    bool expect = c == Code::kConflict || c == Code::kUnavailable || c == Code::kTimeout;
    EXPECT_EQ(Status(c, "m").IsRetryable(), expect) << CodeName(c);
  }
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> v = 42;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 42);
  EXPECT_TRUE(v.status().ok());
  EXPECT_EQ(v.code(), Code::kOk);

  Result<int> e = Status::Timeout("slow");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.code(), Code::kTimeout);
  EXPECT_EQ(e.status().ToString(), "Timeout: slow");

  Result<std::unique_ptr<int>> moved = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(moved).value();
  EXPECT_EQ(*p, 7);

  Result<std::string> s = std::string("abc");
  EXPECT_EQ(s->size(), 3u);
}

TEST(ResultTest, FromOkStatusIsAnInternalError) {
  Result<int> r = Status::OK();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Code::kInternal);
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

Status Check(int x, int* calls) {
  ++*calls;
  return x < 0 ? Status::InvalidArgument("negative") : Status::OK();
}

Result<int> Quarter(int x, int* steps) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ++*steps;
  ASSIGN_OR_RETURN(int q, Half(h));
  ++*steps;
  return q;
}

Status Pipeline(int x, int* calls) {
  RETURN_IF_ERROR(Check(x, calls));
  RETURN_IF_ERROR(Check(x - 10, calls));
  return Status::OK();
}

TEST(MacrosTest, AssignOrReturnStopsAtTheFirstError) {
  int steps = 0;
  auto ok = Quarter(8, &steps);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  EXPECT_EQ(steps, 2);

  steps = 0;
  auto bad = Quarter(6, &steps);  // 6 -> 3 -> odd
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_EQ(steps, 1);

  steps = 0;
  EXPECT_FALSE(Quarter(5, &steps).ok());
  EXPECT_EQ(steps, 0);
}

TEST(MacrosTest, ReturnIfErrorStopsAtTheFirstError) {
  int calls = 0;
  EXPECT_TRUE(Pipeline(20, &calls).ok());
  EXPECT_EQ(calls, 2);
  calls = 0;
  EXPECT_EQ(Pipeline(5, &calls).message(), "negative");
  EXPECT_EQ(calls, 2);
  calls = 0;
  EXPECT_FALSE(Pipeline(-1, &calls).ok());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace strata

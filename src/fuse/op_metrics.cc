#include "fuse/op_metrics.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>

#include "fuse/fuse_server.h"
#include "fuse/ops.h"
#include "vfs/virtual_files.h"

namespace strata::fuse {
namespace {

// The request callbacks StrataFS implements, in one list: name and table member.
#define STRATA_FUSE_OPS(X)                                                                  \
  X(lookup) X(forget) X(forget_multi) X(getattr) X(setattr) X(readlink) X(mknod) X(mkdir)  \
  X(symlink) X(link) X(unlink) X(rmdir) X(rename) X(statfs) X(access) X(open) X(create)    \
  X(read) X(write_buf) X(flush) X(release) X(fsync) X(fallocate) X(copy_file_range)        \
  X(opendir) X(readdir) X(readdirplus) X(releasedir) X(fsyncdir) X(getxattr) X(setxattr)   \
  X(listxattr) X(removexattr) X(getlk) X(setlk) X(flock)

enum OpIndex : int {
#define STRATA_OP_ENUM(name) kOp_##name,
  STRATA_FUSE_OPS(STRATA_OP_ENUM)
#undef STRATA_OP_ENUM
  kOpCount
};
static_assert(kOpCount <= FuseOpMetrics::kMaxOps);

constexpr const char* kOpNames[kOpCount] = {
#define STRATA_OP_NAME(name) #name,
    STRATA_FUSE_OPS(STRATA_OP_NAME)
#undef STRATA_OP_NAME
};

thread_local FuseOpMetrics::Op* t_current = nullptr;
thread_local int t_errno = 0;  // the errno of this thread's current reply (0: success)

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- Arguments as the access log shows them: numbers as numbers, names quoted with C
// escapes, a write's payload as its size; other structures (stat, file info, flock) are left
// out (the op and its inode say what they were for).
void AppendQuoted(std::string* out, const char* s) {
  out->push_back('"');
  for (; s != nullptr && *s != '\0'; ++s) {
    unsigned char c = static_cast<unsigned char>(*s);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      *out += fmt::format("\\x{:02x}", c);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

template <typename T>
void AppendArg(std::string* out, T v) {
  if constexpr (std::is_integral_v<T>) {
    if (!out->empty()) out->push_back(',');
    *out += std::to_string(v);
  } else if constexpr (std::is_same_v<T, const char*>) {
    if (!out->empty()) out->push_back(',');
    AppendQuoted(out, v);
  } else if constexpr (std::is_same_v<T, struct fuse_bufvec*>) {
    if (!out->empty()) out->push_back(',');
    *out += std::to_string(fuse_buf_size(v));
  }
  // Pointers to structures: left out.
}

template <int Index, typename... A>
std::string FormatArgs(A... args) {
  std::string out;
  if constexpr (Index == kOp_setxattr) {
    // (ino, name, value, size, flags): the value is binary and not NUL-terminated.
    auto t = std::forward_as_tuple(args...);
    AppendArg(&out, std::get<0>(t));
    AppendArg(&out, std::get<1>(t));
    AppendArg(&out, std::get<3>(t));
    AppendArg(&out, std::get<4>(t));
  } else {
    (AppendArg(&out, args), ...);
  }
  return out;
}

// True when the request is about the access log itself: logging a read of the log would
// produce a line that wakes that read, forever.
template <typename First, typename... Rest>
bool AboutAccessLog(First first, Rest...) {
  if constexpr (std::is_same_v<First, fuse_ino_t>) {
    return first == vfs::kAccessLogIno;
  } else {
    return false;
  }
}
inline bool AboutAccessLog() { return false; }

template <auto Member, int Index, typename F>
struct Counted;

template <auto Member, int Index, typename... A>
struct Counted<Member, Index, void (*)(fuse_req_t, A...)> {
  static void Call(fuse_req_t req, A... args) {
    // Everything is taken before the call: the reply inside it frees the request.
    FuseServer& server = ops::ServerOf(req);
    FuseOpMetrics* m = server.op_metrics();
    FuseOpMetrics::Op* op = m ? &m->op(Index) : nullptr;
    vfs::AccessLog& log = server.volume().virtual_files().access_log();
    const bool logging = log.active() && !AboutAccessLog(args...);
    vfs::AccessRecord rec;
    std::string arg_text;
    if (logging) {
      const struct fuse_ctx* c = fuse_req_ctx(req);
      rec.uid = c->uid;
      rec.gid = c->gid;
      rec.pid = static_cast<uint32_t>(c->pid);
      arg_text = FormatArgs<Index>(args...);
    }
    int64_t start = op || logging ? NowNanos() : 0;
    t_current = op;
    t_errno = 0;
    // Counted before the call: the reply inside it lets the caller go on (close() returns on
    // FLUSH's reply), and a scrape right after must already see this request.
    if (op) op->calls->Inc();
    (LowLevelOps().*Member)(req, args...);
    t_current = nullptr;
    if (!op && !logging) return;
    double seconds = static_cast<double>(NowNanos() - start) / 1e9;
    if (op) op->latency->Observe(seconds);
    if (logging) {
      rec.op = kOpNames[Index];
      rec.args = arg_text;
      const char* name = t_errno == 0 ? "OK" : strerrorname_np(t_errno);
      rec.result = name != nullptr ? name : "E?";
      rec.seconds = seconds;
      log.Append(rec);
    }
  }
};

}  // namespace

FuseOpMetrics::FuseOpMetrics(MetricsRegistry& r) {
  for (int i = 0; i < kOpCount; ++i) {
    Labels l = {{"op", kOpNames[i]}};
    ops_[i].calls = *r.GetCounter("strata_fuse_ops_total", "FUSE operations", l);
    ops_[i].errors = *r.GetCounter("strata_fuse_errors_total", "FUSE operations that failed", l);
    ops_[i].latency = *r.GetHistogram("strata_fuse_op_seconds", "FUSE operation latency", l);
  }
  read_bytes = *r.GetCounter("strata_fuse_read_bytes_total", "Bytes returned by FUSE reads");
  written_bytes =
      *r.GetCounter("strata_fuse_written_bytes_total", "Bytes accepted by FUSE writes");
}

const struct fuse_lowlevel_ops& CountedLowLevelOps() {
  static const struct fuse_lowlevel_ops table = [] {
    struct fuse_lowlevel_ops t = LowLevelOps();
#define STRATA_OP_WRAP(name)                                                                 \
  if (t.name != nullptr) {                                                                   \
    t.name = &Counted<&fuse_lowlevel_ops::name, kOp_##name, decltype(t.name)>::Call;          \
  }
    STRATA_FUSE_OPS(STRATA_OP_WRAP)
#undef STRATA_OP_WRAP
    return t;
  }();
  return table;
}

void CountErrorReply(int err) {
  t_errno = err;
  if (t_current != nullptr) t_current->errors->Inc();
}

}  // namespace strata::fuse

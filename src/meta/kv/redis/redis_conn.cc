#include "meta/kv/redis/redis_conn.h"

#include <poll.h>

#include <chrono>

namespace strata::kv {
namespace {

timeval Tv(int64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

Status ErrorReply(const std::string& where, std::string_view msg) {
  std::string m = where + ": " + std::string(msg);
  auto starts = [&](std::string_view p) { return msg.substr(0, p.size()) == p; };
  if (starts("NOSCRIPT")) return Status::NotFound(m);
  if (starts("LOADING") || starts("BUSY") || starts("TRYAGAIN") || starts("MASTERDOWN")) {
    return Status::Unavailable(m);
  }
  if (starts("NOAUTH") || starts("WRONGPASS") || starts("NOPERM")) {
    return Status::PermissionDenied(m);
  }
  if (starts("OOM")) return Status(Code::kNoSpace, m);
  if (starts("READONLY")) return Status(Code::kReadOnly, m);
  return Status::IOError(m);
}

}  // namespace

Status RedisKvOptions::Validate() const {
  if (host.empty()) return Status::InvalidArgument("redis: no host");
  if (port <= 0 || port > 65535) return Status::InvalidArgument("redis: bad port");
  if (db < 0) return Status::InvalidArgument("redis: bad database number");
  if (pool_size < 1) return Status::InvalidArgument("redis: pool_size must be >= 1");
  if (connect_timeout_ms < 1 || io_timeout_ms < 1) {
    return Status::InvalidArgument("redis: timeouts must be positive");
  }
  return Status::OK();
}

Result<std::unique_ptr<RedisConn>> RedisConn::Connect(const RedisKvOptions& opts) {
  std::string where = "redis " + opts.host + ":" + std::to_string(opts.port);
  redisContext* ctx =
      redisConnectWithTimeout(opts.host.c_str(), opts.port, Tv(opts.connect_timeout_ms));
  if (ctx == nullptr) return Status::Unavailable(where + ": cannot allocate a connection");
  if (ctx->err) {
    Status s = Status::Unavailable(where + ": cannot connect: " + ctx->errstr);
    redisFree(ctx);
    return s;
  }
  auto conn = std::unique_ptr<RedisConn>(new RedisConn(ctx, where));
  conn->SetReplyTimeout(opts.io_timeout_ms);
  if (!opts.password.empty()) {
    std::vector<std::string_view> auth = {"AUTH"};
    if (!opts.user.empty()) auth.push_back(opts.user);
    auth.push_back(opts.password);
    auto r = conn->Command(auth);
    if (!r.ok()) return r.status().WithContext("authentication failed");
  }
  if (opts.db != 0) {
    std::string db = std::to_string(opts.db);
    RETURN_IF_ERROR(conn->Command({"SELECT", db}).status());
  }
  return conn;
}

RedisConn::~RedisConn() { redisFree(ctx_); }

void RedisConn::SetReplyTimeout(int64_t ms) {
  if (ms < 1) ms = 1;
  if (ms == reply_timeout_ms_) return;
  redisSetTimeout(ctx_, Tv(ms));
  reply_timeout_ms_ = ms;
}

Result<Reply> RedisConn::Command(const std::vector<std::string_view>& args) {
  if (broken_) return Status::Unavailable(where_ + ": connection lost");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto a : args) {
    argv.push_back(a.data() ? a.data() : "");
    lens.push_back(a.size());
  }
  Reply reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data())));
  if (!reply) {
    broken_ = true;
    return Status::Unavailable(where_ + ": " + (ctx_->err ? ctx_->errstr : "no reply"));
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    return ErrorReply(where_, std::string_view(reply->str, reply->len));
  }
  return reply;
}

Result<Reply> RedisConn::Eval(const std::string& script, const std::string& sha,
                              const std::vector<std::string_view>& args) {
  std::vector<std::string_view> cmd = {"EVALSHA", sha, "0"};
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto r = Command(cmd);
  if (r.code() != Code::kNotFound) return r;
  cmd[0] = "EVAL";
  cmd[1] = script;
  return Command(cmd);
}

bool RedisConn::ClosedByPeer() const {
  // An idle connection has nothing to read: readable means EOF (or a stray reply), either way
  // it must not carry the next command.
  pollfd p{ctx_->fd, POLLIN, 0};
  return poll(&p, 1, 0) != 0;
}

Result<RedisPool::Handle> RedisPool::Acquire(int64_t budget_ms) {
  if (budget_ms == 0) return Status::Timeout("redis: the metadata deadline passed");
  int64_t wait_ms = opts_.io_timeout_ms;
  if (budget_ms > 0 && budget_ms < wait_ms) wait_ms = budget_ms;
  auto with_timeout = [&](Handle h) -> Result<Handle> {
    h->SetReplyTimeout(wait_ms);
    return h;
  };
  std::unique_lock lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (!conn->ClosedByPeer()) return with_timeout(Handle(this, std::move(conn)));
      open_--;  // the server went away (restart, timeout): drop it
    }
    if (open_ < opts_.pool_size) break;
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= opts_.pool_size) {
      return Status::Timeout("redis: all " + std::to_string(opts_.pool_size) +
                             " connections stayed busy");
    }
  }
  open_++;
  lock.unlock();
  auto conn = RedisConn::Connect(opts_);
  if (!conn.ok()) {
    lock.lock();
    open_--;
    freed_.notify_one();
    return conn.status();
  }
  return with_timeout(Handle(this, std::move(*conn)));
}

void RedisPool::Release(std::unique_ptr<RedisConn> conn) {
  std::lock_guard lock(mu_);
  if (conn->broken()) {
    open_--;
  } else {
    idle_.push_back(std::move(conn));
  }
  freed_.notify_one();
}

}  // namespace strata::kv

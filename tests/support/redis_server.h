// RedisServer: a real redis-server for tests, started on a free 127.0.0.1 port in a fresh
// temporary directory with persistence off, and stopped by PID (TESTING.md). Restart() stops
// it and starts it again on the same port (with no persistence, data is gone), to test that
// clients reconnect.
//
// Thread-safety: one owner. Errors: kNotFound when redis-server is not installed (callers
// GTEST_SKIP), kTimeout when it does not answer PING.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/process.h"

namespace strata::testing {

class RedisServer {
 public:
  // extra_args are appended to the command line, e.g. {"--requirepass", "pw"}.
  static Result<std::unique_ptr<RedisServer>> Start(std::vector<std::string> extra_args = {});
  ~RedisServer();

  int port() const { return port_; }
  // "redis://127.0.0.1:PORT/DB" (no password).
  std::string Url(int db = 0) const;
  Status Restart();
  void Stop() { proc_.Stop(); }
  int pid() const { return proc_.pid(); }

 private:
  RedisServer() = default;
  Status Launch();

  Subprocess proc_;
  int port_ = 0;
  std::string dir_;
  std::vector<std::string> extra_args_;
};

// Sends one inline command (e.g. "PING") to 127.0.0.1:port and returns the first reply line.
Result<std::string> RedisInlineCommand(int port, const std::string& command,
                                       const std::string& password = "");

}  // namespace strata::testing

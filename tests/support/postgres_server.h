// PostgresServer: a real PostgreSQL 15 for tests (TESTING.md recipe): initdb in a fresh
// temporary directory (under /dev/shm when present) (as the postgres user when run as root: initdb
// refuses root), pg_ctl start on a free 127.0.0.1 port with its socket in that directory, stopped
// at the end. Restart() is `pg_ctl restart -m fast` (connections are cut, data stays).
//
// Thread-safety: one owner. Errors: kNotFound when PostgreSQL is not installed (callers
// skip), kIOError when initdb or pg_ctl fails (the message holds their output).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace strata::testing {

class PostgresServer {
 public:
  // With `password`, the postgres role gets it and the server requires it (scram) on TCP.
  static Result<std::unique_ptr<PostgresServer>> Start(const std::string& password = "");
  ~PostgresServer();

  int port() const { return port_; }
  // "postgres://postgres[:password]@127.0.0.1:PORT/db" (db defaults to postgres).
  std::string Url(const std::string& db = "postgres") const;
  // Runs one SQL statement through psql (as superuser over the socket); returns its output.
  Result<std::string> Psql(const std::string& sql, const std::string& db = "postgres") const;
  Status Restart();  // pg_ctl restart -m fast
  Status Stop();     // pg_ctl stop -m fast

 private:
  PostgresServer() = default;
  Result<std::string> Run(const std::string& cmd) const;  // as the postgres user when root
  // An initdb'd data directory shared by the machine's tests (strata-pg15-template-UID under
  // /dev/shm or $TMPDIR, made once), copied for each server without a password.
  Result<std::string> Template() const;

  std::string dir_, password_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace strata::testing

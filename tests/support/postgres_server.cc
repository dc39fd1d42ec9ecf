#include "tests/support/postgres_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tests/support/process.h"

namespace strata::testing {

namespace {
constexpr char kBin[] = "/usr/lib/postgresql/15/bin";

// Where data directories go: /dev/shm when there is one (a copy of the 40 MB template there
// takes 0.15 s, on this machine's disk 2.4 s), else $TMPDIR.
std::string ScratchRoot() {
  if (access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp && *tmp ? tmp : "/tmp");
}

std::string ScratchDir(const std::string& prefix) {
  std::string tmpl = ScratchRoot() + "/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}
}  // namespace

Result<std::string> PostgresServer::Run(const std::string& cmd) const {
  std::string full = geteuid() == 0 ? "runuser -u postgres -- " + cmd : cmd;
  FILE* f = popen((full + " 2>&1").c_str(), "r");
  if (!f) return Status::IOError("popen");
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  int rc = pclose(f);
  if (rc != 0) return Status::IOError(cmd.substr(0, cmd.find(' ')) + " failed: " + out);
  return out;
}

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start(const std::string& password) {
  if (access((std::string(kBin) + "/initdb").c_str(), X_OK) != 0) {
    return Status::NotFound("PostgreSQL 15 is not installed (Debian postgresql)");
  }
  auto s = std::unique_ptr<PostgresServer>(new PostgresServer);
  s->dir_ = ScratchDir("strata-pg");
  if (s->dir_.empty()) return Status::IOError("cannot create a temporary directory");
  chmod(s->dir_.c_str(), 0755);
  if (geteuid() == 0) {
    if (system(("chown postgres: '" + s->dir_ + "'").c_str()) != 0) {
      return Status::IOError("chown postgres " + s->dir_);
    }
  }
  s->password_ = password;
  s->port_ = FreePort();
  std::string auth = "-A trust";
  if (!password.empty()) {
    std::string pwfile = s->dir_ + "/pw";
    std::ofstream(pwfile) << password << "\n";
    if (geteuid() == 0) (void)!system(("chown postgres: '" + pwfile + "'").c_str());
    auth = "--auth-local=trust --auth-host=scram-sha-256 --pwfile=" + pwfile;
  }
  if (password.empty()) {
    // initdb costs ~3 s; a fresh copy of one initdb'd directory per machine costs ~0.1 s.
    ASSIGN_OR_RETURN(std::string tmpl, s->Template());
    RETURN_IF_ERROR(s->Run("cp -a " + tmpl + " " + s->dir_ + "/data").status());
  } else {
    RETURN_IF_ERROR(s->Run(std::string(kBin) + "/initdb -D " + s->dir_ + "/data -U postgres " +
                           auth + " -E UTF8 --locale=C.UTF-8 --no-sync")
                        .status());
  }
  RETURN_IF_ERROR(s->Run(std::string(kBin) + "/pg_ctl -D " + s->dir_ + "/data -l " + s->dir_ +
                         "/pg.log -w -o \"-c listen_addresses=127.0.0.1 -p " +
                         std::to_string(s->port_) + " -k " + s->dir_ + " -c fsync=off\" start")
                      .status());
  s->running_ = true;
  return s;
}

Result<std::string> PostgresServer::Template() const {
  std::string tmpl = ScratchRoot() + "/strata-pg15-template-" + std::to_string(geteuid());
  if (access((tmpl + "/PG_VERSION").c_str(), R_OK) == 0) return tmpl;
  // Made aside and renamed into place, so concurrent test processes never see half of one.
  std::string aside = dir_ + "/template";
  RETURN_IF_ERROR(Run(std::string(kBin) + "/initdb -D " + aside +
                      " -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync")
                      .status());
  if (rename(aside.c_str(), tmpl.c_str()) != 0) RemoveTree(aside);  // another process won
  if (access((tmpl + "/PG_VERSION").c_str(), R_OK) != 0) {
    return Status::IOError("no PostgreSQL template directory at " + tmpl);
  }
  return tmpl;
}

PostgresServer::~PostgresServer() {
  (void)Stop();
  if (!dir_.empty()) RemoveTree(dir_);
}

std::string PostgresServer::Url(const std::string& db) const {
  return "postgres://postgres" + (password_.empty() ? "" : ":" + password_) +
         "@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

Result<std::string> PostgresServer::Psql(const std::string& sql, const std::string& db) const {
  std::string quoted;
  for (char c : sql) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return Run("/usr/bin/psql -h " + dir_ + " -p " + std::to_string(port_) +
             " -U postgres -X -q -t -A -v ON_ERROR_STOP=1 -d " + db + " -c '" + quoted + "'");
}

Status PostgresServer::Restart() {
  return Run(std::string(kBin) + "/pg_ctl -D " + dir_ + "/data -m fast -w restart -l " + dir_ +
             "/pg.log -o \"-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
             dir_ + " -c fsync=off\"")
      .status();
}

Status PostgresServer::Stop() {
  if (!running_) return Status::OK();
  running_ = false;
  return Run(std::string(kBin) + "/pg_ctl -D " + dir_ + "/data -m fast -w stop").status();
}

}  // namespace strata::testing

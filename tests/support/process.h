// Child processes and loopback ports for tests that need a real server.
//
// Subprocess starts a program (argv[0] looked up in PATH), with stdout/stderr sent to a log
// file, and kills it by PID (SIGTERM, then SIGKILL) when stopped or destroyed. Never by name.
// Thread-safety: one owner.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace strata::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Waits until something accepts TCP connections on 127.0.0.1:port, up to timeout_ms.
Status WaitForPort(int port, int timeout_ms);

// A fresh temporary directory (mkdtemp under $TMPDIR or /tmp). Not removed automatically.
std::string MakeTempDir(const std::string& prefix);

// Removes a directory tree (best effort, for cleanup).
void RemoveTree(const std::string& path);

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess() { Stop(); }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Starts argv; output goes to log_path (appended). kNotFound if the program is missing.
  Status Start(const std::vector<std::string>& argv, const std::string& log_path);
  // SIGTERM, wait up to 5 s, then SIGKILL; reaps the child. Safe to call twice.
  void Stop();
  // SIGKILL and reap.
  void Kill();
  bool running() const { return pid_ > 0; }
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
};

}  // namespace strata::testing

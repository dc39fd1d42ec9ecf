// MountControl: how a tool reaches a running mount's control endpoint
// (client/control_server.h): find the mount holding a path, read its control file, send
// authenticated requests.
//
// Thread-safety: a MountControl is immutable once found; Call may run on many threads (each
// call makes its own connection unless given a client to reuse).
// Errors: Find: kNotFound "PATH is not inside a running StrataFS mount" (or not one this user
// may control); Call: kUnavailable when the mount does not answer, the mount's error otherwise.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace httplib {
class Client;
}

namespace strata::cli {

struct MountControl {
  std::string mount_point;  // real path
  std::string host;
  int port = 0;
  std::string token;

  // The mount holding `path` (walking up from its real path to the nearest directory with a
  // control file).
  static Result<MountControl> Find(const std::string& path);
  // A client for repeated calls (keep-alive).
  std::unique_ptr<httplib::Client> Connect() const;
  // One request; the JSON body on 200.
  Result<std::string> Call(httplib::Client& cli, const std::string& method,
                           const std::string& target) const;
};

}  // namespace strata::cli

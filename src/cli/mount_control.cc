#include "cli/mount_control.h"

#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <climits>
#include <fstream>
#include <sstream>

#include "client/control_server.h"

namespace strata::cli {

Result<MountControl> MountControl::Find(const std::string& path) {
  char real[PATH_MAX];
  if (realpath(path.c_str(), real) == nullptr) {
    return Status::NotFound(path + ": " + std::strerror(errno));
  }
  std::string dir = real;
  while (true) {
    std::ifstream in(client::ControlFilePath(dir));
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      auto j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("mount_point", "") == dir) {
        MountControl m;
        m.mount_point = dir;
        m.token = j.value("token", "");
        const std::string addr = j.value("address", "");
        const size_t colon = addr.rfind(':');
        if (colon != std::string::npos) {
          m.host = addr.substr(0, colon);
          m.port = std::atoi(addr.c_str() + colon + 1);
        }
        // A control file left by a mount that died: its pid is gone.
        const int pid = j.value("pid", 0);
        if (m.port > 0 && pid > 0 && kill(pid, 0) == 0) return m;
      }
    }
    if (dir == "/") break;
    const size_t slash = dir.rfind('/');
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
  return Status::NotFound(path + " is not inside a running StrataFS mount (or its control file " +
                          "is not readable by this user)");
}

std::unique_ptr<httplib::Client> MountControl::Connect() const {
  auto cli = std::make_unique<httplib::Client>(host, port);
  cli->set_keep_alive(true);
  cli->set_connection_timeout(5, 0);
  cli->set_read_timeout(3600, 0);  // one warmup request may fetch a chunk from a slow store
  cli->set_default_headers({{"Authorization", "Bearer " + token}});
  return cli;
}

Result<std::string> MountControl::Call(httplib::Client& cli, const std::string& method,
                                       const std::string& target) const {
  httplib::Result res = method == "POST" ? cli.Post(target) : cli.Get(target);
  if (!res) {
    return Status::Unavailable("the mount at " + mount_point + " does not answer: " +
                               httplib::to_string(res.error()));
  }
  if (res->status != 200) {
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    std::string msg = j.is_object() ? j.value("error", res->body) : res->body;
    return Status(res->status == 403 ? Code::kPermissionDenied : Code::kIOError,
                  "mount " + mount_point + ": " + msg);
  }
  return res->body;
}

}  // namespace strata::cli

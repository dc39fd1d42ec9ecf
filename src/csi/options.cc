#include "csi/options.h"

namespace strata::csi {

Result<Mode> ParseMode(const std::string& text) {
  if (text == "node") return Mode::kNode;
  if (text == "controller") return Mode::kController;
  if (text == "all") return Mode::kAll;
  return Status::InvalidArgument("bad --mode '" + text + "' (node, controller or all)");
}

Result<std::string> CsiOptions::SocketPath() const {
  const std::string prefix = "unix://";
  if (endpoint.rfind(prefix, 0) != 0 || endpoint.size() == prefix.size()) {
    return Status::InvalidArgument("endpoint must be unix:///path/to/csi.sock, not '" + endpoint +
                                   "'");
  }
  std::string path = endpoint.substr(prefix.size());
  if (path[0] != '/') {
    return Status::InvalidArgument("endpoint path must be absolute: '" + endpoint + "'");
  }
  if (path.size() > 100) {  // sun_path holds 108 bytes
    return Status::InvalidArgument("endpoint path too long for a unix socket: " + path);
  }
  return path;
}

Status CsiOptions::Validate() const {
  RETURN_IF_ERROR(SocketPath().status());
  if (mode != Mode::kController && node_id.empty()) {
    return Status::InvalidArgument("--node-id is required in node and all modes");
  }
  if (driver_name.empty() || driver_name.size() > 63) {
    return Status::InvalidArgument("driver name must be 1-63 characters");
  }
  if (state_dir.empty() || state_dir[0] != '/') {
    return Status::InvalidArgument("--state-dir must be an absolute path");
  }
  return Status::OK();
}

}  // namespace strata::csi

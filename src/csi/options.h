// CsiOptions: what `strata csi` is given. One struct for the whole driver; each field's
// default is written here once.
//
// Thread-safety: a plain value; the server copies it at start.
#pragma once

#include <string>

#include "common/status.h"

namespace strata::csi {

// Which CSI services this process serves. Identity is always served. A node plugin runs on
// every Kubernetes node (DaemonSet), the controller once per cluster (Deployment).
enum class Mode { kNode, kController, kAll };

Result<Mode> ParseMode(const std::string& text);  // "node", "controller", "all"

struct CsiOptions {
  std::string endpoint;  // REQUIRED: unix:///path/csi.sock (a stale socket file is replaced)
  std::string node_id;   // REQUIRED in node and all modes: NodeGetInfo's node_id
  Mode mode = Mode::kAll;
  std::string driver_name = "csi.strata.io";  // GetPluginInfo; the CSIDriver object's name
  // Where the node plugin keeps its shared mounts: {state_dir}/mounts/{key}, one per volume
  // (metadata URL + mount flags) on this node, bind-mounted into each pod's target path.
  std::string state_dir = "/var/lib/strata/csi";
  // The binary started (as mount.strata) for each shared mount; "" = this process's binary.
  std::string strata_bin;
  // Each shared mount's log: {state_dir}/mounts/{key}.log.

  Status Validate() const;
  // The socket path of a unix:// endpoint (kInvalidArgument for any other kind).
  Result<std::string> SocketPath() const;
};

}  // namespace strata::csi

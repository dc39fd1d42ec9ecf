#include "csi/capabilities.h"

namespace strata::csi {

namespace pb = ::csi::v1;

Status CheckCapability(const pb::VolumeCapability& cap) {
  if (cap.has_block()) {
    return Status::InvalidArgument("block volumes are not supported (StrataFS is a file system)");
  }
  if (!cap.has_mount()) {
    return Status::InvalidArgument("volume capability needs an access type (mount)");
  }
  const std::string& fs = cap.mount().fs_type();
  if (!fs.empty() && fs != "strata" && fs != "fuse.strata") {
    return Status::InvalidArgument("fs_type '" + fs + "' is not strata");
  }
  if (!cap.has_access_mode() ||
      cap.access_mode().mode() == pb::VolumeCapability::AccessMode::UNKNOWN) {
    return Status::InvalidArgument("volume capability needs an access mode");
  }
  return Status::OK();
}

bool ReadOnlyMode(const pb::VolumeCapability& cap) {
  const auto m = cap.access_mode().mode();
  return m == pb::VolumeCapability::AccessMode::SINGLE_NODE_READER_ONLY ||
         m == pb::VolumeCapability::AccessMode::MULTI_NODE_READER_ONLY;
}

}  // namespace strata::csi

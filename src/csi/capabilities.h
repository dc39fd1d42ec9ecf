// Which volume capabilities StrataFS volumes have: file system access (never block), every
// access mode (a POSIX file system shared by every node: MULTI_NODE_MULTI_WRITER included),
// any fs_type that is empty or "strata", mount flags as mount.strata takes them.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "common/status.h"
#include "csi/csi.pb.h"

namespace strata::csi {

// kInvalidArgument saying what is not supported.
Status CheckCapability(const ::csi::v1::VolumeCapability& cap);
// True for the reader-only access modes (the bind mount is then read-only).
bool ReadOnlyMode(const ::csi::v1::VolumeCapability& cap);

}  // namespace strata::csi

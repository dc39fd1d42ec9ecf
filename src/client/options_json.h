// OptionsJson: a client's effective options as JSON, for the `.config` virtual file
// (vfs/virtual_files.h) and for tools that want to show what a mount runs with. Secrets are
// masked: the metadata URL's password becomes "****" (as `strata status` shows it); the store's
// keys live in the volume's settings, not in the options, and never appear.
//
// One place lists the fields: a module that adds an option adds it here too, so `.config`
// shows it (tests/mount/test_virtual_files.py reads a few of them back).
//
// Thread-safety: a pure function.
#pragma once

#include <string>

#include "client/options.h"

namespace strata::client {

// `volume` and `storage` (the storage URL, masked) describe what the options were applied to;
// either may be "".
std::string OptionsJson(const ClientOptions& options, const std::string& volume,
                        const std::string& storage);

}  // namespace strata::client

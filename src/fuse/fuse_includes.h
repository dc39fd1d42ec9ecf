// The one place libfuse is included, with the API version this adapter is written against
// (libfuse 3.12+ low-level API; Debian 12 ships 3.14).
//
// Thread-safety: n/a (includes only).
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>

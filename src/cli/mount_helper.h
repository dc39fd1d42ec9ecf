// mount.strata: the helper mount(8) runs for `mount -t strata META_URL DIR -o ...` and for
// /etc/fstab lines of type strata. The strata binary is installed (or symlinked) as
// /sbin/mount.strata; main sees that name and turns the helper's arguments into a
// `strata mount -d` command line:
//
//   mount.strata SPEC DIR [-s] [-f] [-n] [-v] [-o OPT[,OPT...]] [-t strata[.SUBTYPE]]
//
//   SPEC                  the metadata URL (fstab's first field)
//   -o key=value          `--key value` when `strata mount` has the option --key (underscores
//                         may stand for dashes: cache_dir=/x is --cache-dir /x)
//   -o key                `--key` when `strata mount` has that flag (writeback-cache, no-bgjob)
//   -o ro                 a read-only mount (as `strata mount -o ro`)
//   -o _netdev, defaults, auto, noauto, user, users, nouser, owner, group, nofail, rw,
//      comment=..., x-...  mount(8)/systemd's own options: dropped
//   -o anything else      passed to FUSE as -o (allow_other, noatime, nosuid, ...)
//   -f                    fake: check the arguments, mount nothing, exit 0
//   -s -n -v              accepted and ignored (sloppy, no mtab, verbose)
//
// The mount always runs in the background (-d): mount(8) waits for the helper to return and
// expects the file system to be mounted by then, which `strata mount -d` guarantees.
//
// Thread-safety: pure function. Errors: kInvalidArgument naming the bad argument.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/status.h"

namespace strata::cli {

struct MountHelperCommand {
  std::vector<std::string> argv;  // "strata", "mount", "-d", ... (empty when fake)
  bool fake = false;              // -f: nothing to run
};

// `args` are the helper's arguments after argv[0]. `mount_cmd` is the registered `strata mount`
// subcommand, asked which options and flags exist.
Result<MountHelperCommand> TranslateMountHelperArgs(const std::vector<std::string>& args,
                                                   const CLI::App& mount_cmd);

}  // namespace strata::cli

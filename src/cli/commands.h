// Subcommand registration. Each Register* adds one subcommand to the app with its callback;
// the callback stores its exit status, returned by ExitCode() from main.
#pragma once

#include <CLI/CLI.hpp>

#include "client/builtins.h"

namespace strata::cli {

// Registers every subcommand (defined in commands.cc). `registries` (filled by main with
// client::RegisterBuiltins) is borrowed by the subcommands and must outlive the app.
void RegisterAll(CLI::App& app, const client::Registries& registries);
// The exit status set by the subcommand that ran (0 by default).
int ExitCode();
void SetExitCode(int code);

// `strata format`, `strata status`, `strata config` (format.cc, status.cc, config.cc).
void RegisterFormat(CLI::App& app, const client::Registries& registries);
void RegisterStatus(CLI::App& app, const client::Registries& registries);
void RegisterConfig(CLI::App& app, const client::Registries& registries);

// One per subcommand, each defined in its own file.
void RegisterObjbench(CLI::App& app, const client::Registries& registries);  // objbench.cc
// `strata mount`, `strata umount`, `strata info` (mount.cc, umount.cc, info.cc).
void RegisterMount(CLI::App& app, const client::Registries& registries);
void RegisterUmount(CLI::App& app);
void RegisterInfo(CLI::App& app);
// `strata fsck`, `strata gc` (fsck.cc, gc.cc; shared parts in volume_scan.h).
void RegisterFsck(CLI::App& app, const client::Registries& registries);
void RegisterGc(CLI::App& app, const client::Registries& registries);
// `strata trash list`, `strata trash restore` (trash.cc).
void RegisterTrash(CLI::App& app, const client::Registries& registries);
// `strata bench PATH` (bench.cc).
void RegisterBench(CLI::App& app);
// `strata csi` (csi.cc): the Kubernetes CSI driver.
void RegisterCsi(CLI::App& app, const client::Registries& registries);
// `strata usage` (usage.cc): subtree usage from the usage records.
void RegisterUsage(CLI::App& app, const client::Registries& registries);
// `strata quota` (quota.cc): directory quotas; `strata summary` (summary.cc): du from metadata.
void RegisterQuota(CLI::App& app, const client::Registries& registries);
void RegisterSummary(CLI::App& app);
// `strata sync-staging` (sync_staging.cc): uploads a killed writeback mount's staged blocks.
void RegisterSyncStaging(CLI::App& app, const client::Registries& registries);
// `strata warmup`, `strata cache status`: through a running mount's control endpoint
// (warmup.cc, cache_status.cc; shared parts in mount_control.h).
void RegisterWarmup(CLI::App& app);
void RegisterCache(CLI::App& app);
// `strata gateway` (gateway.cc) and its `user` / `public` subcommands (gateway_admin.cc).
void RegisterGateway(CLI::App& app, const client::Registries& registries);
void RegisterGatewayAdmin(CLI::App* gateway, const client::Registries& registries);
// `strata stats`, `strata profile`: watch a mount through its virtual files (stats.cc,
// profile.cc; shared parts in mount_files.h).
void RegisterStats(CLI::App& app);
void RegisterProfile(CLI::App& app);
// `strata dump`, `strata load` (dump.cc, load.cc; the format in src/dump), `strata sync` (sync.cc).
void RegisterDump(CLI::App& app, const client::Registries& registries);
void RegisterLoad(CLI::App& app, const client::Registries& registries);
void RegisterSync(CLI::App& app, const client::Registries& registries);

}  // namespace strata::cli

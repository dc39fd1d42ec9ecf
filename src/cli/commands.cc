#include "cli/commands.h"

namespace strata::cli {

namespace {
int g_exit_code = 0;  // set once by the subcommand that runs; main's only piece of state
}  // namespace

int ExitCode() { return g_exit_code; }
void SetExitCode(int code) { g_exit_code = code; }

void RegisterAll(CLI::App& app, const client::Registries& registries) {
  // Each subcommand file adds a line here: RegisterFoo(app[, registries]);
  RegisterFormat(app, registries);
  RegisterStatus(app, registries);
  RegisterConfig(app, registries);
  RegisterMount(app, registries);
  RegisterUmount(app);
  RegisterInfo(app);
  RegisterObjbench(app, registries);
  RegisterFsck(app, registries);
  RegisterGc(app, registries);
  RegisterTrash(app, registries);
  RegisterBench(app);
  RegisterCsi(app, registries);
  RegisterUsage(app, registries);
  RegisterQuota(app, registries);
  RegisterSummary(app);
  RegisterSyncStaging(app, registries);
  RegisterWarmup(app);
  RegisterCache(app);
  RegisterGateway(app, registries);
  RegisterStats(app);
  RegisterProfile(app);
  RegisterDump(app, registries);
  RegisterLoad(app, registries);
  RegisterSync(app, registries);
}

}  // namespace strata::cli

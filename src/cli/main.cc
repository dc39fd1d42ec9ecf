// strata: the command-line front door. Each subcommand lives in its own file and is added here.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/mount_helper.h"
#include "client/builtins.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  CLI::App app{"StrataFS: a POSIX file system on object storage", "strata"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "strata 0.1.0");
  app.get_formatter()->column_width(36);  // long options keep their description on their line
  // Argument errors are one line that names what was wrong, like every other strata error.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "strata: " + std::string(e.what()) + " (see --help)\n";
  });
  // Short-lived tools report failures as one line of their own; the log (stderr) carries only
  // what nobody returns, at error level. `strata mount` sets its own level and file.
  if (!strata::logging::InitLogging({.level = strata::logging::Level::kError, .file = ""}).ok()) {
    return 1;  // stderr cannot fail to open
  }
  // The one registration of every engine and store backend, for every subcommand.
  strata::client::Registries registries;
  strata::client::RegisterBuiltins(registries);
  strata::cli::RegisterAll(app, registries);
  // Run as mount.strata (by mount(8) or an fstab line): translate into `strata mount -d ...`.
  std::vector<std::string> helper_argv;
  std::vector<char*> helper_ptrs;
  const std::string_view self = argv[0];
  if (self.substr(self.rfind('/') + 1) == "mount.strata") {
    std::vector<std::string> args(argv + 1, argv + argc);
    auto cmd = strata::cli::TranslateMountHelperArgs(args, *app.get_subcommand("mount"));
    if (!cmd.ok()) {
      std::fprintf(stderr, "mount.strata: %s\n", std::string(cmd.status().message()).c_str());
      return 1;
    }
    if (cmd->fake) return 0;
    helper_argv = std::move(cmd->argv);
    for (auto& a : helper_argv) helper_ptrs.push_back(a.data());
    argc = static_cast<int>(helper_ptrs.size());
    argv = helper_ptrs.data();
  }
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known |= sub->check_name(argv[1]);
    if (!known) {
      std::fprintf(stderr, "strata: unknown command '%s' (see strata --help)\n", argv[1]);
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata: %s\n", e.what());
    return 1;
  }
  return strata::cli::ExitCode();
}

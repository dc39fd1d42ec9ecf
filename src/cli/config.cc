// strata config META_URL [--trash-days N] [--capacity GiB] [--inodes N]: changes the settings
// that may change after format, in one transaction, and prints the result (secrets masked).
// Limits take effect at once on every client; trash days at each client's next start.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "meta/meta.h"

namespace strata::cli {
namespace {

struct ConfigArgs {
  std::string meta_url;
  std::optional<int> trash_days;
  std::optional<uint64_t> capacity_gib;
  std::optional<uint64_t> inodes;
};

void RunConfig(const client::Registries& registries, const ConfigArgs& a) {
  if (a.capacity_gib && *a.capacity_gib > (UINT64_MAX >> 30)) {
    return Fail("config", Status::InvalidArgument("--capacity " + std::to_string(*a.capacity_gib) +
                                                  " GiB is more than 16 EiB"));
  }
  if (MetaDatabaseMissing(a.meta_url)) {
    return Fail("config",
                Status::NotFound("volume is not formatted (no database at " + a.meta_url + ")"));
  }
  auto engine = OpenMetaEngine(registries, a.meta_url);
  if (!engine.ok()) return Fail("config", engine.status());
  meta::MetaOptions opts;
  opts.background_jobs = false;
  auto m = meta::Meta::Open(*engine, opts);
  if (!m.ok()) return Fail("config", m.status());
  if (a.trash_days || a.capacity_gib || a.inodes) {
    Status s = (*m)->UpdateFormat([&](meta::VolumeFormat& f) {
      if (a.trash_days) f.trash_days = *a.trash_days;
      if (a.capacity_gib) f.capacity_bytes = *a.capacity_gib << 30;
      if (a.inodes) f.max_inodes = *a.inodes;
      return Status::OK();
    });
    if (!s.ok()) return Fail("config", s);
  }
  auto f = meta::Meta::LoadFormat(**engine);
  if (!f.ok()) return Fail("config", f.status());
  std::printf("%s\n", f->MaskedJson().c_str());
}

}  // namespace

void RegisterConfig(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<ConfigArgs>();
  CLI::App* cmd = app.add_subcommand("config", "Change a volume's settings (trash, limits)");
  cmd->add_option("META_URL", a->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  cmd->add_option("--trash-days", a->trash_days, "Days unlinked files stay in .trash (0: off)");
  cmd->add_option("--capacity", a->capacity_gib, "Volume capacity in GiB (0: unlimited)");
  cmd->add_option("--inodes", a->inodes, "Maximum number of inodes (0: unlimited)");
  cmd->callback([a, reg = &registries] { RunConfig(*reg, *a); });
}

}  // namespace strata::cli

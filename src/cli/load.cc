// strata load META_URL FILE|-: restores a dump (docs/format/dump.md) into an EMPTY engine of
// any kind, in batched transactions, with a progress display on stderr. A non-empty target is
// refused; bad or truncated input stops the load naming the line and byte, and the target is
// emptied again. Exit status: 0 done, 1 on any error (one line).
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "common/progress.h"
#include "common/units.h"
#include "dump/loader.h"

namespace strata::cli {
namespace {

struct LoadArgs {
  std::string meta_url;
  std::string file;
  dump::LoadOptions opts;
  std::string storage, access_key, secret_key;
};

void Run(const client::Registries& registries, LoadArgs& a) {
  if (!a.storage.empty()) a.opts.setting_overrides["storage"] = a.storage;
  if (!a.access_key.empty()) a.opts.setting_overrides["access_key"] = a.access_key;
  if (!a.secret_key.empty()) a.opts.setting_overrides["secret_key"] = a.secret_key;
  std::ifstream file;
  uint64_t total = 0;
  if (a.file != "-") {
    file.open(a.file, std::ios::binary);
    if (!file) {
      return Fail("load", Status::NotFound("cannot open " + a.file + ": " + std::strerror(errno)));
    }
    struct stat st;
    if (stat(a.file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) total = st.st_size;
  }
  if (Status s = CheckMetaUrl(registries, a.meta_url); !s.ok()) return Fail("load", s);
  auto engine = OpenMetaEngine(registries, a.meta_url);
  if (!engine.ok()) return Fail("load", engine.status());
  Progress progress("load", {});
  auto* bytes = progress.AddCounter("bytes", Progress::Unit::kBytes, total);
  auto* records = progress.AddCounter("records");
  std::istream& in = a.file == "-" ? std::cin : file;
  auto st = dump::Load(**engine, in, a.opts, records, bytes);
  progress.Finish();
  if (!st.ok()) return Fail("load", st.status());
  std::fprintf(stderr, "load: %s records (%s inodes) in %s transactions into %s\n",
               FormatCount(st->records).c_str(), FormatCount(st->inodes).c_str(),
               FormatCount(st->transactions).c_str(), (*engine)->Describe().c_str());
}

}  // namespace

void RegisterLoad(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<LoadArgs>();
  CLI::App* cmd = app.add_subcommand("load", "Restore a metadata dump into an empty engine");
  cmd->add_option("META_URL", a->meta_url, "Metadata engine URL (must be empty)")
      ->transform(MetaUrlFromEnv())->required();
  cmd->add_option("FILE", a->file, "Dump file, or - for stdin")->required();
  cmd->add_option("--batch", a->opts.batch_records, "Records per transaction (default 1000)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--storage", a->storage,
                  "Point the loaded volume at this object store (where its blocks were synced)");
  cmd->add_option("--access-key", a->access_key, "Object store access key of the loaded volume");
  cmd->add_option("--secret-key", a->secret_key, "Object store secret key of the loaded volume");
  cmd->callback([a, reg = &registries] { Run(*reg, *a); });
}

}  // namespace strata::cli

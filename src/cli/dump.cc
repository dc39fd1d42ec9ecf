// strata dump META_URL FILE|- [--subdir DIR] [--keep-secret-key] [--no-check]: writes the
// volume's metadata as the dump format (docs/format/dump.md) to FILE (written as FILE.tmp and
// renamed when complete, so FILE is never a partial dump) or to stdout. A progress line goes
// to stderr. Exit status: 0 done, 1 on any error (one line; FILE is then not created).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "common/progress.h"
#include "common/units.h"
#include "dump/dumper.h"

namespace strata::cli {
namespace {

struct DumpArgs {
  std::string meta_url;
  std::string file;
  dump::DumpOptions opts;
  bool no_check = false;
};

void Run(const client::Registries& registries, DumpArgs& a) {
  if (MetaDatabaseMissing(a.meta_url)) {
    return Fail("dump",
                Status::NotFound("volume is not formatted (no database at " + a.meta_url + ")"));
  }
  auto engine = OpenMetaEngine(registries, a.meta_url);
  if (!engine.ok()) return Fail("dump", engine.status());
  a.opts.check = !a.no_check;
  const bool to_stdout = a.file == "-";
  const std::string tmp = a.file + ".tmp";
  std::FILE* out = to_stdout ? stdout : std::fopen(tmp.c_str(), "w");
  if (out == nullptr) {
    return Fail("dump", Status::IOError("cannot create " + tmp + ": " + std::strerror(errno)));
  }
  std::vector<char> buf(1 << 20);  // outlives every write to `out` (fclose below)
  if (!to_stdout) std::setvbuf(out, buf.data(), _IOFBF, buf.size());
  Progress progress("dump", {});
  auto* records = progress.AddCounter("records");
  uint64_t bytes = 0;
  auto st = dump::Dump(
      **engine, a.opts,
      [&](std::string_view line) -> Status {
        if (std::fwrite(line.data(), 1, line.size(), out) != line.size() ||
            std::fputc('\n', out) == EOF) {
          return Status::IOError("writing " + (to_stdout ? std::string("stdout") : tmp) + ": " +
                                 std::strerror(errno));
        }
        bytes += line.size() + 1;
        return Status::OK();
      },
      records);
  Status closed;
  if (std::fflush(out) != 0 || (!to_stdout && fsync(fileno(out)) != 0)) {
    closed = Status::IOError("writing the dump: " + std::string(std::strerror(errno)));
  }
  if (!to_stdout && std::fclose(out) != 0 && closed.ok()) {
    closed = Status::IOError("closing " + tmp + ": " + std::strerror(errno));
  }
  progress.Finish();
  if (st.ok() && !closed.ok()) st = closed;
  if (st.ok() && !to_stdout && std::rename(tmp.c_str(), a.file.c_str()) != 0) {
    st = Status::IOError("renaming " + tmp + " to " + a.file + ": " + std::strerror(errno));
  }
  if (!st.ok()) {
    if (!to_stdout) std::remove(tmp.c_str());
    return Fail("dump", st.status());
  }
  std::fprintf(stderr, "dump: %s records (%s inodes), %s, consistency: %s\n",
               FormatCount(st->records).c_str(), FormatCount(st->inodes).c_str(),
               FormatBytes(bytes).c_str(), st->consistency.c_str());
}

}  // namespace

void RegisterDump(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<DumpArgs>();
  CLI::App* cmd =
      app.add_subcommand("dump", "Write a volume's metadata as JSON (docs/format/dump.md)");
  cmd->add_option("META_URL", a->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  cmd->add_option("FILE", a->file, "Output file, or - for stdout")->required();
  cmd->add_option("--subdir", a->opts.subdir, "Dump only this directory's subtree (as the root)");
  cmd->add_flag("--keep-secret-key", a->opts.keep_secret_key,
                "Keep the object store's secret key in the settings record");
  cmd->add_flag("--no-check", a->no_check,
                "Engines without snapshot reads: skip the verifying second read (fuzzy dump)");
  cmd->callback([a, reg = &registries] { Run(*reg, *a); });
}

}  // namespace strata::cli

// strata sync SRC DST [options]: makes DST hold what SRC holds (src/sync/sync.h has the rules).
// SRC and DST are object stores (file:///dir, s3://bucket/prefix, http(s)://host/bucket/prefix
// with --access-key/--secret-key/--region/--credentials-file or the AWS_* variables, for both
// sides unless --src-*/--dst-* say otherwise), local paths (which may be mounts), or volumes
// opened directly without FUSE: strata:///DIR with --src-meta/--dst-meta META_URL.
// A progress display on stderr; a summary line on stdout. Exit status: 0 when everything was
// copied, 1 when any item failed or a listing could not complete (or on bad arguments).
#include "sync/sync.h"

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "common/progress.h"
#include "common/units.h"
#include "sync/open.h"

namespace strata::cli {
namespace {

struct SyncArgs {
  std::string src, dst;
  sync::EndpointOptions src_opts, dst_opts;
  object::StoreOptions store;  // both sides, unless the side's own fields are set
  sync::SyncOptions opts;
};

object::StoreOptions Merge(object::StoreOptions side, const object::StoreOptions& both) {
  if (side.access_key.empty()) side.access_key = both.access_key;
  if (side.secret_key.empty()) side.secret_key = both.secret_key;
  if (side.region.empty()) side.region = both.region;
  if (side.credentials_file.empty()) side.credentials_file = both.credentials_file;
  return side;
}

void Run(const client::Registries& registries, SyncArgs& a) {
  if (Status s = a.opts.Validate(); !s.ok()) return Fail("sync", s);
  a.src_opts.store = Merge(a.src_opts.store, a.store);
  a.dst_opts.store = Merge(a.dst_opts.store, a.store);
  auto src = sync::OpenEndpoint(registries, a.src, a.src_opts, /*destination=*/false);
  if (!src.ok()) return Fail("sync: source", src.status());
  auto dst = sync::OpenEndpoint(registries, a.dst, a.dst_opts, /*destination=*/true);
  if (!dst.ok()) return Fail("sync: destination", dst.status());
  sync::SyncStats st;
  Status s;
  {
    Progress progress(a.opts.dry_run ? "sync (dry run)" : "sync", {});
    s = sync::Run(**src, **dst, a.opts, &st, &progress);
    progress.Finish();
  }
  std::printf(
      "sync%s: copied %s (%s), linked %s, attributes fixed %s, skipped %s, deleted %s, failed %s "
      "(%s items scanned)\n",
      a.opts.dry_run ? " (dry run, nothing changed)" : "", FormatCount(st.copied).c_str(),
      FormatBytes(st.bytes).c_str(), FormatCount(st.linked).c_str(), FormatCount(st.attrs).c_str(),
      FormatCount(st.skipped).c_str(), FormatCount(st.deleted).c_str(),
      FormatCount(st.failed).c_str(), FormatCount(st.scanned).c_str());
  std::fflush(stdout);
  if (!s.ok()) return Fail("sync", s);
  if (st.failed > 0) SetExitCode(1);
}

void StoreFlags(CLI::App* cmd, object::StoreOptions* o, const std::string& p,
                const std::string& who) {
  cmd->add_option("--" + p + "access-key", o->access_key, "S3 access key" + who);
  cmd->add_option("--" + p + "secret-key", o->secret_key, "S3 secret key" + who);
  cmd->add_option("--" + p + "region", o->region, "S3 region" + who);
  cmd->add_option("--" + p + "credentials-file", o->credentials_file,
                  "File with ACCESS:SECRET or an AWS [default] section" + who);
}

}  // namespace

void RegisterSync(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<SyncArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sync", "Copy between object stores, local paths and volumes (strata:///DIR)");
  cmd->add_option("SRC", a->src, "Source: STORE_URL, PATH or strata:///DIR")->required();
  cmd->add_option("DST", a->dst, "Destination: STORE_URL, PATH or strata:///DIR")->required();
  cmd->add_option("--src-meta", a->src_opts.meta_url, "META_URL of a strata:// source")
      ->transform(MetaUrlFromEnv());
  cmd->add_option("--dst-meta", a->dst_opts.meta_url, "META_URL of a strata:// destination")
      ->transform(MetaUrlFromEnv());
  StoreFlags(cmd, &a->store, "", " (both sides)");
  StoreFlags(cmd, &a->src_opts.store, "src-", " of the source");
  StoreFlags(cmd, &a->dst_opts.store, "dst-", " of the destination");
  cmd->add_option("--threads", a->opts.threads, "Parallel copies (default 8)");
  cmd->add_option("--include", a->opts.include, "Keep paths matching PATTERN even if excluded");
  cmd->add_option("--exclude", a->opts.exclude, "Skip paths matching PATTERN");
  cmd->add_flag("--update", a->opts.update, "Copy only when the source is newer (or sizes differ)");
  cmd->add_flag("--check-all", a->opts.check_all, "Compare the contents of same-size files");
  cmd->add_flag("--delete-dst", a->opts.delete_dst, "Delete what the source does not have");
  cmd->add_flag("--dry-run", a->opts.dry_run, "Print what would be done; change nothing");
  cmd->add_flag("!--no-attributes", a->opts.attributes,
                "Do not copy mode, owner, times, xattrs or hard links");
  cmd->callback([a, reg = &registries] { Run(*reg, *a); });
}

}  // namespace strata::cli

// strata gateway user add|list|remove META_URL ... and strata gateway public add|list|remove:
// the gateway's users, grants and public prefixes, kept in the volume's metadata
// (gateway/users.h, docs/format/meta-schema.md "Front-end records"). A running gateway sees
// changes within a second. A new user's secret is printed once, at `user add`, and never
// again (`user list` shows names and grants only).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "gateway/users.h"
#include "meta/meta.h"

namespace strata::cli {
namespace {

struct AdminArgs {
  std::string meta_url;
  std::string name;  // user name, or BUCKET/PREFIX for public
  std::vector<std::string> buckets;
  bool read_only = false;
  std::string secret;
};

Result<std::unique_ptr<meta::Meta>> OpenMeta(const client::Registries& registries,
                                             const std::string& url) {
  if (MetaDatabaseMissing(url)) {
    return Status::NotFound("volume is not formatted (no database at " + url + ")");
  }
  ASSIGN_OR_RETURN(auto engine, OpenMetaEngine(registries, url));
  meta::MetaOptions opts;
  opts.background_jobs = false;
  return meta::Meta::Open(engine, opts);
}

void UserAdd(const client::Registries& reg, const AdminArgs& a) {
  Status v = gateway::ValidateUserName(a.name);
  if (!v.ok()) return Fail("gateway user add", v);
  if (a.buckets.empty()) {
    return Fail("gateway user add", Status::InvalidArgument("give at least one --bucket B[/PREFIX]"));
  }
  gateway::User u;
  u.name = a.name;
  for (const std::string& b : a.buckets) {
    auto g = gateway::ParseGrant(b, a.read_only);
    if (!g.ok()) return Fail("gateway user add", g.status());
    u.grants.push_back(*g);
  }
  if (!a.secret.empty() && a.secret.size() < 8) {
    return Fail("gateway user add", Status::InvalidArgument("--secret-key needs 8 characters or more"));
  }
  u.secret = a.secret.empty() ? gateway::GenerateSecret() : a.secret;
  auto m = OpenMeta(reg, a.meta_url);
  if (!m.ok()) return Fail("gateway user add", m.status());
  Status s = gateway::AddUser(**m, u);
  if (!s.ok()) return Fail("gateway user add", s);
  std::printf("access key: %s\n", u.name.c_str());
  if (a.secret.empty()) {
    std::printf("secret key: %s\n(shown once; it cannot be printed again)\n", u.secret.c_str());
  }
  for (const auto& g : u.grants) std::printf("grant: %s\n", gateway::GrantString(g).c_str());
}

void UserList(const client::Registries& reg, const AdminArgs& a) {
  auto m = OpenMeta(reg, a.meta_url);
  if (!m.ok()) return Fail("gateway user list", m.status());
  auto users = gateway::ListUsers(**m);
  if (!users.ok()) return Fail("gateway user list", users.status());
  for (const auto& u : *users) {
    std::string grants;
    for (const auto& g : u.grants) grants += (grants.empty() ? "" : ", ") + gateway::GrantString(g);
    std::printf("%s\t%s\n", u.name.c_str(), grants.c_str());
  }
}

void UserRemove(const client::Registries& reg, const AdminArgs& a) {
  auto m = OpenMeta(reg, a.meta_url);
  if (!m.ok()) return Fail("gateway user remove", m.status());
  Status s = gateway::RemoveUser(**m, a.name);
  if (!s.ok()) return Fail("gateway user remove", s);
  std::printf("removed user %s\n", a.name.c_str());
}

void PublicChange(const client::Registries& reg, const AdminArgs& a, bool add) {
  const char* what = add ? "gateway public add" : "gateway public remove";
  auto g = gateway::ParseGrant(a.name, true);
  if (!g.ok()) return Fail(what, g.status());
  auto m = OpenMeta(reg, a.meta_url);
  if (!m.ok()) return Fail(what, m.status());
  Status s = add ? gateway::AddPublic(**m, *g) : gateway::RemovePublic(**m, *g);
  if (!s.ok()) return Fail(what, s);
  std::printf("%s %s/%s\n", add ? "public:" : "no longer public:", g->bucket.c_str(),
              g->prefix.c_str());
}

void PublicList(const client::Registries& reg, const AdminArgs& a) {
  auto m = OpenMeta(reg, a.meta_url);
  if (!m.ok()) return Fail("gateway public list", m.status());
  auto list = gateway::ListPublic(**m);
  if (!list.ok()) return Fail("gateway public list", list.status());
  for (const auto& g : *list) std::printf("%s/%s\n", g.bucket.c_str(), g.prefix.c_str());
}

}  // namespace

void RegisterGatewayAdmin(CLI::App* gw, const client::Registries& registries) {
  const client::Registries* reg = &registries;
  CLI::App* user = gw->add_subcommand("user", "Gateway users and their grants");
  user->require_subcommand(1);
  auto ua = std::make_shared<AdminArgs>();
  CLI::App* add = user->add_subcommand("add", "Add a user (prints its secret key once)");
  add->add_option("META_URL", ua->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  add->add_option("NAME", ua->name, "User name, also its access key")->required();
  add->add_option("--bucket", ua->buckets, "Grant BUCKET or BUCKET/PREFIX (repeatable)");
  add->add_flag("--read-only", ua->read_only, "The grants allow reads only");
  add->add_option("--secret-key", ua->secret, "Use this secret instead of a generated one");
  add->callback([ua, reg] { UserAdd(*reg, *ua); });
  auto la = std::make_shared<AdminArgs>();
  CLI::App* list = user->add_subcommand("list", "List users and grants (never secrets)");
  list->add_option("META_URL", la->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  list->callback([la, reg] { UserList(*reg, *la); });
  auto ra = std::make_shared<AdminArgs>();
  CLI::App* rm = user->add_subcommand("remove", "Remove a user");
  rm->add_option("META_URL", ra->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  rm->add_option("NAME", ra->name, "User name")->required();
  rm->callback([ra, reg] { UserRemove(*reg, *ra); });

  CLI::App* pub = gw->add_subcommand("public", "Prefixes anyone may read without a signature");
  pub->require_subcommand(1);
  auto pa = std::make_shared<AdminArgs>();
  CLI::App* padd = pub->add_subcommand("add", "Make BUCKET/PREFIX readable anonymously");
  padd->add_option("META_URL", pa->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  padd->add_option("PREFIX", pa->name, "BUCKET or BUCKET/PREFIX")->required();
  padd->callback([pa, reg] { PublicChange(*reg, *pa, true); });
  auto pl = std::make_shared<AdminArgs>();
  CLI::App* plist = pub->add_subcommand("list", "List public prefixes");
  plist->add_option("META_URL", pl->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  plist->callback([pl, reg] { PublicList(*reg, *pl); });
  auto pr = std::make_shared<AdminArgs>();
  CLI::App* prm = pub->add_subcommand("remove", "Stop anonymous reads of BUCKET/PREFIX");
  prm->add_option("META_URL", pr->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  prm->add_option("PREFIX", pr->name, "BUCKET or BUCKET/PREFIX")->required();
  prm->callback([pr, reg] { PublicChange(*reg, *pr, false); });
}

}  // namespace strata::cli

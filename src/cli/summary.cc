// strata summary PATH [--depth N] [--json]: like `du` on a mounted directory, but from the
// volume's metadata (meta/summary.h): bytes, inodes and directories of the whole subtree of
// PATH and of its subdirectories down to N levels (default 0: PATH only). Asks the mount
// holding PATH through its control endpoint (client/control_server.h, GET /v1/summary): the
// mount already has the volume open and its credentials, so the tool needs neither.
#include <httplib.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/mount_control.h"
#include "common/units.h"

namespace strata::cli {
namespace {

struct SummaryArgs {
  std::string path;
  int depth = 0;
  bool json = false;
};

std::string Encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int Run(const SummaryArgs& a) {
  auto fail = [](const std::string& msg) {
    std::fprintf(stderr, "strata summary: %s\n", msg.c_str());
    return 1;
  };
  char real[PATH_MAX];
  struct stat st;
  if (realpath(a.path.c_str(), real) == nullptr || stat(real, &st) != 0) {
    return fail("no such directory: " + a.path);
  }
  if (!S_ISDIR(st.st_mode)) return fail("not a directory: " + a.path);
  auto control = MountControl::Find(real);
  if (!control.ok()) return fail(control.status().ToString());
  std::string rel = std::string(real).substr(
      std::min(control->mount_point.size(), std::string(real).size()));
  auto cli = control->Connect();
  auto body = control->Call(*cli, "GET",
                            "/v1/summary?path=" + Encode(rel) + "&depth=" + std::to_string(a.depth));
  if (!body.ok()) return fail(body.status().ToString());
  auto rows = nlohmann::json::parse(*body, nullptr, false);
  if (!rows.is_array()) return fail("the mount sent no summary");
  // Paths as the user sees them: below the PATH given.
  std::string top = a.path;
  while (top.size() > 1 && top.back() == '/') top.pop_back();
  const std::string rel_top = rel.empty() ? "." : rel;
  for (auto& r : rows) {
    std::string p = r.value("path", "");
    r["path"] = top + p.substr(std::min(p.size(), rel_top.size()));
  }
  std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
    return x.value("path", "") < y.value("path", "");
  });
  if (a.json) {
    std::printf("%s\n", rows.dump(2).c_str());
    return 0;
  }
  std::printf("%12s %14s %12s %10s  %s\n", "SIZE", "BYTES", "INODES", "DIRS", "PATH");
  for (const auto& r : rows) {
    const int64_t bytes = r.value("bytes", int64_t{0});
    std::printf("%12s %14lld %12lld %10lld  %s\n",
                FormatBytes(static_cast<uint64_t>(std::max<int64_t>(bytes, 0))).c_str(),
                static_cast<long long>(bytes), static_cast<long long>(r.value("inodes", int64_t{0})),
                static_cast<long long>(r.value("dirs", int64_t{0})), r.value("path", "").c_str());
  }
  return 0;
}

}  // namespace

void RegisterSummary(CLI::App& app) {
  auto a = std::make_shared<SummaryArgs>();
  CLI::App* cmd = app.add_subcommand(
      "summary", "Bytes, inodes and directories of a mounted directory's tree, from metadata");
  cmd->add_option("PATH", a->path, "A directory inside a StrataFS mount")->required();
  cmd->add_option("--depth", a->depth, "Also report subdirectories down to this many levels")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000).description(""));
  cmd->add_flag("--json", a->json, "Print a JSON array");
  cmd->callback([a] { SetExitCode(Run(*a)); });
}

}  // namespace strata::cli

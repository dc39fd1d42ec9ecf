#include "cli/mount_helper.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace strata::cli {
namespace {

bool DroppedOption(std::string_view o) {
  static constexpr std::array<std::string_view, 12> kDropped = {
      "_netdev", "defaults", "auto", "noauto", "user", "users", "nouser", "owner", "group",
      "nofail",  "rw",       "nofail"};
  if (std::find(kDropped.begin(), kDropped.end(), o) != kDropped.end()) return true;
  return o.starts_with("x-") || o.starts_with("comment=");
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The option of `strata mount` named `key` (dashes or underscores), or nullptr.
const CLI::Option* FindOption(const CLI::App& cmd, std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  if (key.empty() || key == "d" || key == "background" || key == "o" || key == "help") return nullptr;
  return cmd.get_option_no_throw("--" + key);
}

}  // namespace

Result<MountHelperCommand> TranslateMountHelperArgs(const std::vector<std::string>& args,
                                                   const CLI::App& mount_cmd) {
  MountHelperCommand out;
  std::vector<std::string> positional, options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-o" || a == "-t" || a == "-N") {
      if (i + 1 >= args.size()) return Status::InvalidArgument(a + " needs a value");
      if (a == "-o") {
        for (auto& o : SplitCommas(args[i + 1])) options.push_back(o);
      } else if (a == "-t" && args[i + 1] != "strata" && !args[i + 1].starts_with("strata.") &&
                 !args[i + 1].starts_with("fuse.strata")) {
        return Status::InvalidArgument("type " + args[i + 1] + " is not strata");
      } else if (a == "-N") {
        return Status::InvalidArgument("-N (mount namespaces) is not supported");
      }
      ++i;
    } else if (a.starts_with("-o") && a.size() > 2) {
      for (auto& o : SplitCommas(a.substr(2))) options.push_back(o);
    } else if (a == "-f") {
      out.fake = true;
    } else if (a == "-s" || a == "-n" || a == "-v") {
      // sloppy, no mtab, verbose: nothing to do
    } else if (a.starts_with("-")) {
      return Status::InvalidArgument("unknown mount.strata flag " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2) {
    return Status::InvalidArgument("usage: mount.strata META_URL MOUNTPOINT [-o options]");
  }
  std::vector<std::string> argv = {"strata", "mount", "-d"};
  std::string fuse_opts;
  for (const std::string& o : options) {
    if (DroppedOption(o)) continue;
    const size_t eq = o.find('=');
    const std::string key = o.substr(0, eq);
    const CLI::Option* opt = FindOption(mount_cmd, key);
    if (opt != nullptr && !opt->get_positional()) {
      const bool is_flag = opt->get_expected_min() == 0;
      if (eq == std::string::npos) {
        if (!is_flag) return Status::InvalidArgument("option " + key + " needs a value (" + key + "=...)");
        argv.push_back(opt->get_name());
      } else {
        if (is_flag) return Status::InvalidArgument("option " + key + " takes no value");
        argv.push_back(opt->get_name());
        argv.push_back(o.substr(eq + 1));
      }
      continue;
    }
    fuse_opts += (fuse_opts.empty() ? "" : ",") + o;
  }
  if (!fuse_opts.empty()) {
    argv.push_back("-o");
    argv.push_back(fuse_opts);
  }
  argv.push_back(positional[0]);
  argv.push_back(positional[1]);
  if (!out.fake) out.argv = std::move(argv);
  return out;
}

}  // namespace strata::cli

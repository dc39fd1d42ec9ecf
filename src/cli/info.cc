// strata info PATH...: where a file's data lives — inode, length, and for each chunk its
// slices (position, id, size, visible window) and their object keys. Read from the mount
// through the virtual, read-only extended attribute "strata.info" (JSON), so it works for any
// user who can see the file and needs no access to the metadata engine.
#include <sys/xattr.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace strata::cli {
namespace {

int ShowInfo(const std::string& path, bool json_out) {
  ssize_t n = getxattr(path.c_str(), "strata.info", nullptr, 0);
  std::string buf;
  if (n >= 0) {
    buf.resize(static_cast<size_t>(n) + 1);
    n = getxattr(path.c_str(), "strata.info", buf.data(), buf.size());
  }
  if (n < 0) {
    int err = errno;
    if (err == ENODATA || err == ENOTSUP || err == EOPNOTSUPP) {
      std::fprintf(stderr, "strata info: %s is not on a StrataFS mount\n", path.c_str());
    } else if (err == E2BIG || err == ERANGE) {
      std::fprintf(stderr, "strata info: %s: layout too large to show through the mount\n",
                   path.c_str());
    } else {
      std::fprintf(stderr, "strata info: %s: %s\n", path.c_str(), std::strerror(err));
    }
    return 1;
  }
  buf.resize(static_cast<size_t>(n));
  if (json_out) {
    std::printf("%s\n", buf.c_str());
    return 0;
  }
  nlohmann::json j = nlohmann::json::parse(buf, nullptr, false);
  if (j.is_discarded()) {
    std::fprintf(stderr, "strata info: %s: unreadable layout\n", path.c_str());
    return 1;
  }
  std::printf("%s:\n  inode: %llu\n  length: %llu\n", path.c_str(),
              j.value("inode", 0ULL), j.value("length", 0ULL));
  if (j.value("pending", 0ULL) > 0) {
    std::printf("  pending (not yet committed) up to: %llu\n", j.value("pending", 0ULL));
  }
  const auto& chunks = j["chunks"];
  std::printf("  chunks: %zu\n", chunks.size());
  for (const auto& c : chunks) {
    std::printf("  chunk %llu:\n", c.value("index", 0ULL));
    for (const auto& s : c["slices"]) {
      std::printf("    slice id=%llu pos=%llu size=%llu off=%llu len=%llu\n", s.value("id", 0ULL),
                  s.value("pos", 0ULL), s.value("size", 0ULL), s.value("off", 0ULL),
                  s.value("len", 0ULL));
      for (const auto& k : s["objects"]) {
        std::printf("      %s\n", k.get<std::string>().c_str());
      }
    }
  }
  return 0;
}

}  // namespace

void RegisterInfo(CLI::App& app) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto json_out = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("info", "Show where a file's data is stored (on a mount)");
  cmd->add_option("PATH", *paths, "Files or directories on a StrataFS mount")->required();
  cmd->add_flag("--json", *json_out, "Print the raw JSON");
  cmd->callback([paths, json_out] {
    int rc = 0;
    for (const std::string& p : *paths) rc |= ShowInfo(p, *json_out);
    SetExitCode(rc);
  });
}

}  // namespace strata::cli

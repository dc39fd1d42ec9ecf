#include "cli/meta_open.h"

#include <sys/stat.h>

#include <cstdio>

#include "cli/commands.h"
#include "common/uri.h"

namespace strata::cli {

Result<std::shared_ptr<kv::KvEngine>> OpenMetaEngine(const client::Registries& registries,
                                                     const std::string& url) {
  return registries.engines.Open(url);
}

Status CheckMetaUrl(const client::Registries& registries, const std::string& url) {
  return registries.engines.Check(url);
}

bool MetaDatabaseMissing(const std::string& url) {
  auto uri = ParseUri(url);
  if (!uri.ok() || uri->scheme != "sqlite3" || uri->path.empty()) return false;
  struct stat st;
  if (stat(uri->path.c_str(), &st) != 0) return true;
  // A zero-byte file (e.g. from `touch`) holds no database yet: opening it would write one.
  return S_ISREG(st.st_mode) && st.st_size == 0;
}

void Fail(const std::string& context, const Status& s) {
  std::string msg = s.ToString();
  for (char& c : msg) {
    if (c == '\n') c = ' ';  // one line, whatever the engine said
  }
  std::fprintf(stderr, "strata: %s: %s\n", context.c_str(), msg.c_str());
  SetExitCode(1);
}

}  // namespace strata::cli

#include "cli/meta_open.h"

#include <sys/stat.h>

#include <cstdio>

#include "cli/commands.h"
#include "common/uri.h"

namespace strata::cli {

Result<std::shared_ptr<kv::KvEngine>> OpenMetaEngine(const std::string& url) {
  kv::KvRegistry registry;
  kv::RegisterMemKv(registry);
  kv::RegisterSqliteKv(registry);
  kv::RegisterRedisKv(registry);
  return registry.Open(url);
}

Status CheckMetaUrl(const std::string& url) {
  auto uri = ParseUri(url);
  if (!uri.ok()) return uri.status().WithContext("metadata URL");
  if (uri->scheme != "memkv" && uri->scheme != "sqlite3" && uri->scheme != "redis") {
    return Status::InvalidArgument("unknown metadata engine '" + uri->scheme + "://' in " +
                                   uri->Masked() + " (known: memkv://, redis://, sqlite3://)");
  }
  return Status::OK();
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

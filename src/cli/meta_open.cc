#include "cli/meta_open.h"

#include <sys/stat.h>

#include <cstdio>
#include <cctype>
#include <cstdlib>

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

const CLI::Validator& MetaUrlFromEnv() {
  static const CLI::Validator v(
      [](std::string& value) -> std::string {
        if (value.rfind("env:", 0) != 0) return {};
        const std::string name = value.substr(4);
        bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
        for (char c : name) valid &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        if (!valid) return "'" + value + "': env: must be followed by a variable name";
        const char* url = std::getenv(name.c_str());
        if (url == nullptr || *url == '\0') {
          return "'" + value + "': environment variable " + name + " is not set";
        }
        value = url;
        return {};
      },
      "", "META_URL from env:NAME");
  return v;
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

#include "object/s3/s3_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace strata::object::s3 {
namespace {

int DefaultPort(const std::string& scheme) { return scheme == "http" ? 80 : 443; }

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

Result<bool> ParseBool(const std::string& name, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Status::InvalidArgument("URL option " + name + "=" + v + ": expected true or false");
}

// Reads "ACCESS:SECRET" or an AWS ini file's `profile` section.
Result<std::optional<Credentials>> ReadCredentialsFile(const std::string& path,
                                                       const std::string& profile,
                                                       bool must_exist) {
  std::ifstream f(path);
  if (!f) {
    if (!must_exist) return std::optional<Credentials>();
    return Status::InvalidArgument("cannot read credentials file " + path);
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  std::string trimmed = Trim(text);
  // One line not starting a section: "ACCESS:SECRET" (secrets may hold '=' and '/').
  if (!trimmed.empty() && trimmed[0] != '[' && trimmed.find('\n') == std::string::npos &&
      trimmed.find("aws_") != 0) {
    size_t colon = trimmed.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == trimmed.size()) {
      return Status::InvalidArgument("credentials file " + path +
                                     ": expected ACCESS:SECRET or an AWS ini file");
    }
    return std::optional<Credentials>(
        Credentials{trimmed.substr(0, colon), trimmed.substr(colon + 1), ""});
  }
  Credentials c;
  std::string section;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(std::string_view(line).substr(1, line.size() - 2));
      if (section.rfind("profile ", 0) == 0) section = Trim(section.substr(8));
      continue;
    }
    if (section != profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = Trim(std::string_view(line).substr(0, eq));
    std::string v = Trim(std::string_view(line).substr(eq + 1));
    if (k == "aws_access_key_id") c.access_key = v;
    if (k == "aws_secret_access_key") c.secret_key = v;
    if (k == "aws_session_token") c.session_token = v;
  }
  if (c.access_key.empty() || c.secret_key.empty()) {
    if (!must_exist) return std::optional<Credentials>();
    return Status::InvalidArgument("credentials file " + path + " has no aws_access_key_id and "
                                   "aws_secret_access_key in profile [" + profile + "]");
  }
  return std::optional<Credentials>(c);
}

}  // namespace

std::string S3Endpoint::HostHeader() const {
  std::string h = virtual_hosted ? bucket + "." + host : host;
  if (host.find(':') != std::string::npos && host.front() != '[') h = "[" + h + "]";  // IPv6
  if (port != 0 && port != DefaultPort(scheme)) h += ":" + std::to_string(port);
  return h;
}

std::string S3Endpoint::BaseUrl() const { return scheme + "://" + HostHeader(); }

std::string S3Endpoint::PathFor(std::string_view key) const {
  std::string p = virtual_hosted ? "/" : "/" + bucket;
  if (key.empty()) return p;
  if (!virtual_hosted) p += '/';
  p += key;
  return p;
}

std::string S3Endpoint::Describe() const {
  std::string d = url_scheme == "s3" ? "s3://" + bucket : BaseUrl() + "/" + bucket;
  if (!prefix.empty()) d += "/" + prefix.substr(0, prefix.size() - 1);
  if (url_scheme == "s3") d += " (" + BaseUrl() + ")";
  return d;
}

std::optional<std::string> ProcessEnv(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

Result<Credentials> ResolveCredentials(const StoreOptions& opts, const EnvLookup& env,
                                       std::string_view what) {
  const std::string profile = env("AWS_PROFILE").value_or("default");
  if (!opts.access_key.empty() || !opts.secret_key.empty()) {
    if (opts.access_key.empty() || opts.secret_key.empty()) {
      return Status::InvalidArgument(std::string(what) +
                                     ": both an access key and a secret key are needed");
    }
    return Credentials{opts.access_key, opts.secret_key, opts.session_token};
  }
  if (!opts.credentials_file.empty()) {
    ASSIGN_OR_RETURN(auto c, ReadCredentialsFile(opts.credentials_file, profile, true));
    if (!opts.session_token.empty()) c->session_token = opts.session_token;
    return *c;
  }
  auto ak = env("AWS_ACCESS_KEY_ID");
  auto sk = env("AWS_SECRET_ACCESS_KEY");
  if (ak && sk) return Credentials{*ak, *sk, env("AWS_SESSION_TOKEN").value_or("")};
  std::string shared;
  if (auto f = env("AWS_SHARED_CREDENTIALS_FILE")) {
    shared = *f;
  } else if (auto home = env("HOME")) {
    shared = *home + "/.aws/credentials";
  }
  if (!shared.empty()) {
    ASSIGN_OR_RETURN(auto c, ReadCredentialsFile(shared, profile, false));
    if (c) return *c;
  }
  return Status::InvalidArgument(
      std::string("no credentials for ") + std::string(what) +
      ": pass --access-key and --secret-key, a credentials file, or set AWS_ACCESS_KEY_ID and "
      "AWS_SECRET_ACCESS_KEY");
}

Result<S3Config> ParseS3Config(const Uri& uri, const StoreOptions& opts, const EnvLookup& env) {
  S3Config cfg;
  S3Endpoint& ep = cfg.endpoint;
  ep.url_scheme = uri.scheme;
  std::string path = uri.path;  // "/bucket/prefix" for http(s), "/prefix" for s3
  std::optional<bool> virtual_hosted;
  for (const auto& [k, v] : uri.query) {
    if (k == "region") {
      ep.region = v;
    } else if (k == "virtual-hosted") {
      ASSIGN_OR_RETURN(virtual_hosted, ParseBool(k, v));
    } else if (k == "unsigned-payload") {
      ASSIGN_OR_RETURN(ep.unsigned_payload, ParseBool(k, v));
    } else {
      return Status::InvalidArgument("unknown option '" + k + "' in storage URL " + uri.Masked() +
                                     " (known: region, virtual-hosted, unsigned-payload)");
    }
  }
  if (!uri.query.count("region")) {
    if (!opts.region.empty()) {
      ep.region = opts.region;
    } else if (auto r = env("AWS_REGION")) {
      ep.region = *r;
    } else if (auto r2 = env("AWS_DEFAULT_REGION")) {
      ep.region = *r2;
    }
  }
  if (uri.scheme == "s3") {
    ep.bucket = uri.host;
    if (ep.bucket.empty()) return Status::InvalidArgument("no bucket in storage URL " + uri.Masked());
    if (uri.port != 0) {
      return Status::InvalidArgument("s3://" + ep.bucket + " takes no port; use http(s)://host:port/bucket for other endpoints");
    }
    ep.scheme = "https";
    ep.host = "s3." + ep.region + ".amazonaws.com";
    // Dotted bucket names break the *.s3 TLS wildcard: path style for those.
    ep.virtual_hosted = virtual_hosted.value_or(ep.bucket.find('.') == std::string::npos);
  } else if (uri.scheme == "http" || uri.scheme == "https") {
    ep.scheme = uri.scheme;
    ep.host = uri.host;
    ep.port = uri.port;
    if (ep.host.empty()) return Status::InvalidArgument("no host in storage URL " + uri.Masked());
    size_t start = path.find_first_not_of('/');
    if (start == std::string::npos) {
      return Status::InvalidArgument("no bucket in storage URL " + uri.Masked() +
                                     " (expected " + uri.scheme + "://host[:port]/bucket)");
    }
    size_t end = path.find('/', start);
    ep.bucket = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    path = end == std::string::npos ? "" : path.substr(end);
    ep.virtual_hosted = virtual_hosted.value_or(false);
  } else {
    return Status::InvalidArgument("the S3 backend does not handle scheme '" + uri.scheme + "'");
  }
  for (char c : ep.bucket) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    if (!ok) return Status::InvalidArgument("invalid bucket name '" + ep.bucket + "'");
  }
  // The rest of the path is a key prefix; empty segments are dropped.
  size_t b = path.find_first_not_of('/');
  if (b != std::string::npos) {
    size_t e = path.find_last_not_of('/');
    ep.prefix = path.substr(b, e - b + 1) + "/";
  }

  ASSIGN_OR_RETURN(cfg.creds, ResolveCredentials(opts, env, ep.Describe()));
  cfg.connect_timeout_ms = opts.connect_timeout_ms > 0 ? opts.connect_timeout_ms : 5000;
  cfg.request_timeout_ms = opts.request_timeout_ms > 0 ? opts.request_timeout_ms : 60000;
  cfg.max_connections = opts.max_connections > 0 ? opts.max_connections : 64;
  return cfg;
}

}  // namespace strata::object::s3

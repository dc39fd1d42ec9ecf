#include "csi/secrets.h"

#include "common/uri.h"

namespace strata::csi {
namespace {

const std::string* Find(const std::map<std::string, std::string>& m, const std::string& key) {
  for (const std::string& k : {key, [&] {
                                 std::string u = key;
                                 for (char& c : u) {
                                   if (c == '-') c = '_';
                                 }
                                 return u;
                               }()}) {
    auto it = m.find(k);
    if (it != m.end()) return &it->second;
  }
  return nullptr;
}

}  // namespace

Result<VolumeSecrets> ParseSecrets(const std::map<std::string, std::string>& secrets,
                                   const client::Registries& registries, bool* bad_url) {
  *bad_url = false;
  VolumeSecrets out;
  const std::string* url = Find(secrets, "metaurl");
  if (url == nullptr || url->empty()) {
    return Status::InvalidArgument(
        "the volume's secret has no 'metaurl' (the volume's metadata URL)");
  }
  out.meta_url = *url;
  auto uri = ParseUri(out.meta_url);
  out.masked_url = uri.ok() ? uri->Masked() : "(unparsable metaurl)";
  Status known = registries.engines.Check(out.meta_url);
  if (!known.ok()) {
    *bad_url = true;
    return Status::InvalidArgument("bad metaurl in the volume's secret (" + out.masked_url +
                                   "): " + Scrub(std::string(known.message()), out));
  }
  const std::string* ak = Find(secrets, "access-key");
  const std::string* sk = Find(secrets, "secret-key");
  if ((ak == nullptr) != (sk == nullptr)) {
    return Status::InvalidArgument("the volume's secret needs both access-key and secret-key");
  }
  if (ak != nullptr) {
    out.env.emplace_back("AWS_ACCESS_KEY_ID", *ak);
    out.env.emplace_back("AWS_SECRET_ACCESS_KEY", *sk);
  }
  return out;
}

std::map<std::string, std::string> ToStdMap(
    const google::protobuf::Map<std::string, std::string>& m) {
  return std::map<std::string, std::string>(m.begin(), m.end());
}

std::string Scrub(std::string text, const VolumeSecrets& secrets) {
  auto replace_all = [&](const std::string& what) {
    if (what.size() < 4) return;  // too short to be a secret worth hiding; avoid mangling
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 4)) {
      text.replace(p, what.size(), "****");
    }
  };
  if (secrets.meta_url != secrets.masked_url) replace_all(secrets.meta_url);
  auto uri = ParseUri(secrets.meta_url);
  if (uri.ok()) replace_all(uri->password);
  for (const auto& [k, v] : secrets.env) replace_all(v);
  return text;
}

}  // namespace strata::csi

// The credentials of one StrataFS volume as Kubernetes hands them to the driver: the `secrets`
// map of a CSI request, filled from the Secret that the StorageClass (dynamic provisioning) or
// the PersistentVolume (static) names. Each environment (tenant) has its own Secret, so each
// PV reaches its own volume with its own credentials.
//
//   metaurl      REQUIRED. The volume's metadata URL (sqlite3://, redis://, ...).
//   access-key   OPTIONAL, with secret-key: object store keys for the mount, given to it as
//   secret-key   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the volume's settings may already
//                hold keys; these are used only when they do not). "_" may stand for "-".
//
// Nothing here is ever logged or put in an error message: messages name the masked URL.
//
// Thread-safety: pure functions. Errors: kInvalidArgument for a missing metaurl or half a key
// pair (a bad request: INVALID_ARGUMENT). A metaurl that is present but names no volume we can
// reach is the secret owner's to fix: the services report it as FAILED_PRECONDITION.
#pragma once

#include <google/protobuf/map.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "client/builtins.h"
#include "common/status.h"

namespace strata::csi {

struct VolumeSecrets {
  std::string meta_url;
  std::string masked_url;                                // for messages and logs
  std::vector<std::pair<std::string, std::string>> env;  // for the mount process
};

// Parses the secrets, then checks (without connecting) that an engine of `registries` takes
// the URL; a URL refused there comes back as kInvalidArgument with `*bad_url` set.
Result<VolumeSecrets> ParseSecrets(const std::map<std::string, std::string>& secrets,
                                   const client::Registries& registries, bool* bad_url);
std::map<std::string, std::string> ToStdMap(
    const google::protobuf::Map<std::string, std::string>& m);

// `text` with every occurrence of the secret values replaced by "****" (for an error message
// that came from a child process or an engine and might quote them).
std::string Scrub(std::string text, const VolumeSecrets& secrets);

}  // namespace strata::csi

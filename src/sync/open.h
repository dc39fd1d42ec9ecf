// Opening a sync endpoint from its command-line form:
//   strata://[/DIR]          a volume, opened directly (META_URL from --src-meta/--dst-meta)
//   SCHEME://...             an object store of the store registry (file://, s3://, http(s)://,
//                            mem://) with the credential options of the other commands
//   anything else            a local path (a directory; may be a mount)
//
// Thread-safety: plain function. Errors: kInvalidArgument for a malformed URL or a missing
// --*-meta, the store's or the volume's for what cannot be opened.
#pragma once

#include <memory>
#include <string>

#include "client/builtins.h"
#include "object/registry.h"
#include "sync/endpoint.h"

namespace strata::sync {

struct EndpointOptions {
  std::string meta_url;        // for strata://
  object::StoreOptions store;  // for object stores
};

Result<std::unique_ptr<Endpoint>> OpenEndpoint(const client::Registries& registries,
                                               const std::string& spec,
                                               const EndpointOptions& options, bool destination);

}  // namespace strata::sync

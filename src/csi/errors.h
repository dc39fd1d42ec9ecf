// Status → gRPC status for the CSI services: the one conversion at this edge (STYLE.md
// "Convert at the edges only"). Codes follow the CSI spec's tables: bad or missing request
// fields are INVALID_ARGUMENT, a volume that cannot be reached or is not a StrataFS volume is
// FAILED_PRECONDITION, a missing volume NOT_FOUND, a timeout DEADLINE_EXCEEDED, the rest
// INTERNAL. Messages are the Status message (never holding credentials: callers mask URLs).
//
// Thread-safety: pure functions.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "common/status.h"

namespace strata::csi {

grpc::StatusCode ToGrpcCode(Code code);
grpc::Status ToGrpc(const Status& s);
inline grpc::Status InvalidArgument(const std::string& m) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, m);
}
// The volume named by the request cannot be used as it is (bad metaurl, not formatted, mount
// refused): FAILED_PRECONDITION with the status's message.
inline grpc::Status FailedPrecondition(const Status& s) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, std::string(s.message()));
}

}  // namespace strata::csi

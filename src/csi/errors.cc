#include "csi/errors.h"

#include <string>

namespace strata::csi {

grpc::StatusCode ToGrpcCode(Code code) {
  switch (code) {
    case Code::kOk:
      return grpc::StatusCode::OK;
    case Code::kInvalidArgument:
    case Code::kNameTooLong:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case Code::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case Code::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case Code::kPermissionDenied:
    case Code::kNotPermitted:
      return grpc::StatusCode::PERMISSION_DENIED;
    case Code::kNoSpace:
    case Code::kQuotaExceeded:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case Code::kOutOfRange:
      return grpc::StatusCode::OUT_OF_RANGE;
    case Code::kNotSupported:
      return grpc::StatusCode::UNIMPLEMENTED;
    case Code::kTimeout:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case Code::kUnavailable:
    case Code::kConflict:
      return grpc::StatusCode::UNAVAILABLE;
    // The volume is not in a state to serve the call (not a directory, not formatted, busy):
    // the caller must fix something first.
    case Code::kNotDir:
    case Code::kIsDir:
    case Code::kNotEmpty:
    case Code::kBusy:
    case Code::kReadOnly:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case Code::kCancelled:
    case Code::kInterrupted:
      return grpc::StatusCode::ABORTED;
    default:
      return grpc::StatusCode::INTERNAL;
  }
}

grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(ToGrpcCode(s.code()), std::string(s.message()));
}

}  // namespace strata::csi

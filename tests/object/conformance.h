// The object-store conformance suite: one set of cases that every ObjectStore backend must
// pass (STYLE.md "one conformance suite per interface"). The cases live in conformance.cc as
// TEST_P(ObjectStoreConformance, Name); a backend joins by instantiating the suite with a
// ConformanceTarget in its own *_test.cc file in this directory:
//
//   INSTANTIATE_TEST_SUITE_P(S3, ObjectStoreConformance,
//                            ::testing::Values(ConformanceTarget{"s3", OpenS3, {"MultipartAbort"},
//                                                                /*shared=*/true}),
//                            ConformanceTargetName);
//
// Case names (for ConformanceTarget::skip): RoundTripEmpty, RoundTripOneByte, RoundTrip4MiB,
// RoundTrip17MiB, OverwriteReplacesWholeBody, RangedGetEdges, MissingKeyIsNotFound,
// HeadReportsSize, SyncKeepsObjectsAndSkipsMissingKeys, DeleteMissingIsOk, DeleteRemoves,
// ListPrefix, ObjectAndPrefixOfSameName (file:// cannot: it skips it), ListDelimiter,
// ListStartAfter, ListEmpty, ListPaginationOver1000Keys, ListDelimiterPagination,
// MultipartComplete, MultipartPartsUploadedOutOfOrder, MultipartListParts (uses ListParts),
// MultipartAbort (uses AbortMultipart), MultipartUnknownUpload, KeysWithSpacesAndUnicode,
// ConcurrentPutsSameKey.
//
// Thread-safety: test code; a case may call the store from several threads.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "common/status.h"
#include "object/object_store.h"

namespace strata::object::conformance {

struct ConformanceTarget {
  // Name in test ids, e.g. "mem" (letters, digits, '_').
  std::string name;
  // Opens the store for one case. Returning kNotSupported skips the case with that message
  // (say, "s3rver is not installed"); any other error fails it.
  std::function<Result<std::shared_ptr<ObjectStore>>()> open;
  // Cases this backend cannot run, by name (see the list above). Only for documented server
  // gaps, never to hide a bug.
  std::set<std::string> skip;
  // true when open() returns a store that other cases also use (one bucket on one server):
  // each case then runs under its own key prefix, deleted at the end.
  bool shared = false;
};

// Test-name generator: the target's name.
std::string ConformanceTargetName(const ::testing::TestParamInfo<ConformanceTarget>& info);

class ObjectStoreConformance : public ::testing::TestWithParam<ConformanceTarget> {
 protected:
  void SetUp() override;
  void TearDown() override;

  ObjectStore& store() { return *store_; }

 private:
  std::shared_ptr<ObjectStore> raw_;    // what the target opened
  std::shared_ptr<ObjectStore> store_;  // raw_, or raw_ under a per-case prefix when shared
};

}  // namespace strata::object::conformance

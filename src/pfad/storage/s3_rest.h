// Internal to storage/: the two S3 requests Arrow's S3FileSystem does not
// make, sent with libcurl (common/http_client.h) and signed with AWS SigV4.
//
// GetWithETag reads a whole object in one GET and returns its ETag as the
// version (a missing object is exists=false; a missing bucket, denied access
// or any other answer is an IOError naming the object). PutIfETag stores an
// object only if its ETag is still `expected_etag` (If-Match) or, for "", if
// it does not exist (If-None-Match: *); a lost race is AlreadyExists. Both
// need explicit credentials in the StorageConfig (NotImplemented otherwise).
#pragma once

#include <string>
#include <string_view>

#include "pfad/common/status.h"
#include "pfad/storage/object_store.h"

namespace pfad::storage::internal {

Result<VersionedObject> GetWithETag(const StorageConfig& config, const ObjectUri& uri);
Status PutIfETag(const StorageConfig& config, const ObjectUri& uri, std::string_view bytes,
                 const std::string& expected_etag);

}  // namespace pfad::storage::internal

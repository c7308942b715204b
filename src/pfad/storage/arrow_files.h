// Internal to storage/: what LocalStore and S3Store do the same way through an
// Arrow FileSystem (stat, open for reading, delete), and how storage errors read.
//
// Every error names the object the caller asked about (its URI as written),
// keeps its status code, adds the OS's reason when Arrow kept it aside, and says
// what to do about the common S3 failures (credentials, endpoint).
#pragma once

#include <arrow/filesystem/type_fwd.h>
#include <arrow/io/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pfad/common/status.h"
#include "pfad/storage/object_store.h"

namespace pfad::storage::internal {

// "s3://b/" -> "s3://b"; a lone "/" stays.
std::string_view StripTrailingSlashes(std::string_view s);

// What to do about a failure whose message or S3 error code is `message` ("" if nothing to say).
std::string_view Hint(const std::string& message);

// `st` with the object's URI in front, the OS's reason and a hint added; OK stays OK.
Status Annotate(const Status& st, const ObjectUri& uri);

Result<ObjectInfo> StatFile(arrow::fs::FileSystem& fs, const ObjectUri& uri);
Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenFile(arrow::fs::FileSystem& fs, const ObjectUri& uri,
                                                              std::optional<int64_t> known_size);
Status DeleteFile(arrow::fs::FileSystem& fs, const ObjectUri& uri);

}  // namespace pfad::storage::internal

// Errors in PFAD: Arrow's Status/Result, used by every stage so that Arrow
// errors cross library boundaries unchanged. The status code carries the kind
// of failure, which the CLI turns into an exit code:
//   Invalid      the input is wrong (corrupt object, missing column, bad flag value)
//   IOError      storage or network failure (missing bucket, access denied, unreachable)
//   anything else  an internal error
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

namespace pfad {

using Status = arrow::Status;
template <typename T>
using Result = arrow::Result<T>;

}  // namespace pfad

#define PFAD_RETURN_NOT_OK(expr) ARROW_RETURN_NOT_OK(expr)
#define PFAD_ASSIGN_OR_RAISE(lhs, rexpr) ARROW_ASSIGN_OR_RAISE(lhs, rexpr)

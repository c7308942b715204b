#include "pfad/storage/arrow_files.h"

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>

#include <chrono>

namespace pfad::storage::internal {

std::string_view StripTrailingSlashes(std::string_view s) {
  while (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
  return s;
}

std::string_view Hint(const std::string& message) {
  if (message.find("ACCESS_DENIED") != std::string::npos ||
      message.find("InvalidAccessKeyId") != std::string::npos ||
      message.find("SignatureDoesNotMatch") != std::string::npos) {
    return " (check the credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or [storage] in the config)";
  }
  if (message.find("NETWORK_CONNECTION") != std::string::npos) {
    return " (is the S3 endpoint right and the store running? set --s3-endpoint or AWS_ENDPOINT_URL)";
  }
  return "";
}

// Arrow keeps errno in the detail, not the message: "Error writing bytes to
// file" alone does not say the disk is full.
Status Annotate(const Status& st, const ObjectUri& uri) {
  if (st.ok()) return st;
  std::string message = st.message();
  if (const auto detail = st.detail()) {
    if (const std::string reason = detail->ToString(); message.find(reason) == std::string::npos) {
      message += ": " + reason;
    }
  }
  if (message.find("No space left on device") != std::string::npos) {
    message += " (the filesystem holding it is full: free some space there)";
  }
  return st.WithMessage(uri.ToString(), ": ", message, Hint(message));
}

Result<ObjectInfo> StatFile(arrow::fs::FileSystem& fs, const ObjectUri& uri) {
  auto info = fs.GetFileInfo(uri.FsPath());
  if (!info.ok()) return Annotate(info.status(), uri);
  ObjectInfo out;
  out.exists = info->type() != arrow::fs::FileType::NotFound;
  out.is_directory = info->type() == arrow::fs::FileType::Directory;
  out.size = info->size();
  if (info->mtime() != arrow::fs::kNoTime) {
    out.mtime_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(info->mtime().time_since_epoch()).count();
  }
  return out;
}

Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenFile(arrow::fs::FileSystem& fs, const ObjectUri& uri,
                                                              std::optional<int64_t> known_size) {
  arrow::fs::FileInfo info(uri.FsPath(), arrow::fs::FileType::File);
  if (known_size) info.set_size(*known_size);
  auto file = known_size ? fs.OpenInputFile(info) : fs.OpenInputFile(uri.FsPath());
  if (!file.ok()) return Annotate(file.status(), uri);
  return *std::move(file);
}

Status DeleteFile(arrow::fs::FileSystem& fs, const ObjectUri& uri) {
  return Annotate(fs.DeleteFile(uri.FsPath()), uri);
}

}  // namespace pfad::storage::internal

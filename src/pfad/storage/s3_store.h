// The object store over S3 (s3:// and s3a:// URIs; AWS or an S3-compatible
// store such as MinIO, addressed path-style when an endpoint is set).
//
// An object is an S3 object, a container is its bucket, and writes never
// create buckets. Stat, reads and writes go through Arrow's S3FileSystem: a
// writer streams a multipart upload that becomes visible only when Commit
// completes it, and an uncommitted writer aborts it. GetVersioned and
// PutIfVersion are the two REST calls Arrow does not offer (s3_rest.h): a GET
// returning the ETag as the version, and a PUT with If-Match / If-None-Match.
// Errors name the object and, for denied access or an unreachable endpoint,
// say which setting to check.
#pragma once

#include <memory>
#include <string>

#include "pfad/storage/object_store.h"

namespace pfad::storage {

class S3Store final : public ObjectStore {
 public:
  // Initialises the AWS SDK on first use (see S3Runtime). Fails on half-given credentials.
  static Result<std::shared_ptr<S3Store>> Make(const StorageConfig& config);

  [[nodiscard]] Result<ObjectInfo> Stat(const ObjectUri& uri) const override;
  [[nodiscard]] Status CheckContainer(const ObjectUri& uri) const override;
  [[nodiscard]] Result<std::unique_ptr<ObjectWriter>> OpenForWrite(const ObjectUri& uri) const override;
  [[nodiscard]] Status Delete(const ObjectUri& uri) const override;
  [[nodiscard]] Result<VersionedObject> GetVersioned(const ObjectUri& uri) const override;
  [[nodiscard]] Status PutIfVersion(const ObjectUri& uri, std::string_view bytes,
                                    const std::string& expected_version) const override;
  [[nodiscard]] const std::shared_ptr<arrow::fs::FileSystem>& filesystem() const override { return fs_; }

 private:
  S3Store(std::shared_ptr<arrow::fs::FileSystem> fs, StorageConfig config)
      : fs_(std::move(fs)), config_(std::move(config)) {}
  [[nodiscard]] Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenFile(
      const ObjectUri& uri, std::optional<int64_t> known_size) const override;

  std::shared_ptr<arrow::fs::FileSystem> fs_;
  StorageConfig config_;
};

}  // namespace pfad::storage

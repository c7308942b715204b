#include "pfad/storage/s3_store.h"

#include <arrow/filesystem/s3fs.h>
#include <arrow/io/interfaces.h>

#include <cstdlib>
#include <mutex>
#include <utility>

#include "pfad/common/log.h"
#include "pfad/storage/arrow_files.h"
#include "pfad/storage/s3_rest.h"

namespace pfad::storage {
namespace {

std::mutex g_s3_mutex;
bool g_s3_used = false;

Status EnsureS3() {
  std::lock_guard lock(g_s3_mutex);
  if (g_s3_used) return Status::OK();
  // No instance-metadata lookups: they stall for seconds off-cloud.
  ::setenv("AWS_EC2_METADATA_DISABLED", "true", /*overwrite=*/0);
  arrow::fs::S3GlobalOptions options = arrow::fs::S3GlobalOptions::Defaults();
  options.log_level = arrow::fs::S3LogLevel::Fatal;
  PFAD_RETURN_NOT_OK(arrow::fs::InitializeS3(options));
  g_s3_used = true;
  return Status::OK();
}

class S3ObjectWriter final : public ObjectWriter {
 public:
  explicit S3ObjectWriter(std::shared_ptr<arrow::io::OutputStream> stream) : stream_(std::move(stream)) {}
  ~S3ObjectWriter() override {
    // Closing would publish a partial object: abort the upload instead.
    if (!committed_) (void)stream_->Abort();
  }
  [[nodiscard]] std::shared_ptr<arrow::io::OutputStream> stream() const override { return stream_; }
  [[nodiscard]] Status Commit() override {
    PFAD_RETURN_NOT_OK(stream_->Close());
    committed_ = true;
    return Status::OK();
  }

 private:
  std::shared_ptr<arrow::io::OutputStream> stream_;
  bool committed_ = false;
};

}  // namespace

Result<std::shared_ptr<S3Store>> S3Store::Make(const StorageConfig& config) {
  PFAD_RETURN_NOT_OK(EnsureS3());
  arrow::fs::S3Options options;
  if (!config.access_key.empty() || !config.secret_key.empty()) {
    if (config.access_key.empty() || config.secret_key.empty()) {
      return Status::Invalid("S3 credentials need both an access key and a secret key");
    }
    options.ConfigureAccessKey(config.access_key, config.secret_key, config.session_token);
  } else {
    options.ConfigureDefaultCredentials();
  }
  options.region = config.region.empty() ? "us-east-1" : config.region;
  if (!config.endpoint.empty()) {
    std::string_view endpoint = config.endpoint;
    if (const auto pos = endpoint.find("://"); pos != std::string_view::npos) {
      options.scheme = std::string(endpoint.substr(0, pos));
      endpoint.remove_prefix(pos + 3);
    } else {
      const bool loopback = endpoint.starts_with("127.") || endpoint.starts_with("localhost");
      options.scheme = loopback ? "http" : "https";
    }
    options.endpoint_override = std::string(internal::StripTrailingSlashes(endpoint));
    if (options.endpoint_override.ends_with('/')) options.endpoint_override.pop_back();
    options.force_virtual_addressing = false;  // path-style, as MinIO expects
  }
  options.connect_timeout = config.connect_timeout_s;
  options.request_timeout = config.request_timeout_s;
  options.retry_strategy = arrow::fs::S3RetryStrategy::GetAwsStandardRetryStrategy(config.max_attempts);
  PFAD_ASSIGN_OR_RAISE(auto fs, arrow::fs::S3FileSystem::Make(options));
  Logger("storage")->debug("opened S3 store endpoint={} region={}", options.endpoint_override,
                           options.region);
  return std::shared_ptr<S3Store>(new S3Store(std::move(fs), config));
}

Result<ObjectInfo> S3Store::Stat(const ObjectUri& uri) const { return internal::StatFile(*fs_, uri); }

Status S3Store::CheckContainer(const ObjectUri& uri) const {
  // Errors name the object the caller asked about, not just its bucket.
  ObjectUri bucket = uri;
  bucket.key.clear();
  auto info = fs_->GetFileInfo(bucket.FsPath());
  if (!info.ok()) return internal::Annotate(info.status(), uri);
  if (info->type() == arrow::fs::FileType::NotFound) {
    return Status::IOError(uri.ToString(), ": bucket '", uri.bucket, "' does not exist");
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::io::RandomAccessFile>> S3Store::OpenFile(
    const ObjectUri& uri, std::optional<int64_t> known_size) const {
  return internal::OpenFile(*fs_, uri, known_size);
}

Result<std::unique_ptr<ObjectWriter>> S3Store::OpenForWrite(const ObjectUri& uri) const {
  auto stream = fs_->OpenOutputStream(uri.FsPath());
  if (!stream.ok()) return internal::Annotate(stream.status(), uri);
  return std::make_unique<S3ObjectWriter>(*std::move(stream));
}

Status S3Store::Delete(const ObjectUri& uri) const { return internal::DeleteFile(*fs_, uri); }

Result<VersionedObject> S3Store::GetVersioned(const ObjectUri& uri) const {
  return internal::GetWithETag(config_, uri);
}

Status S3Store::PutIfVersion(const ObjectUri& uri, std::string_view bytes,
                             const std::string& expected_version) const {
  return internal::PutIfETag(config_, uri, bytes, expected_version);
}

S3Runtime::~S3Runtime() {
  std::lock_guard lock(g_s3_mutex);
  if (g_s3_used) (void)arrow::fs::FinalizeS3();
}

}  // namespace pfad::storage

#include "pfad/storage/object_store.h"

#include <arrow/buffer.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/filesystem/s3fs.h>
#include <arrow/io/interfaces.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>

#include "pfad/common/http_client.h"
#include "pfad/common/log.h"

namespace pfad::storage {
namespace {

constexpr std::string_view kS3Prefix = "s3://";
constexpr std::string_view kS3aPrefix = "s3a://";
constexpr std::string_view kFilePrefix = "file://";

std::string_view StripTrailingSlashes(std::string_view s) {
  while (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
  return s;
}

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

// What to do about the common S3 failures.
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

// Adds the object's URI, the OS's reason (Arrow keeps errno in the detail, not
// the message: "Error writing bytes to file" alone does not say the disk is
// full) and a hint to an error, keeping its code.
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

class LocalObjectWriter final : public ObjectWriter {
 public:
  LocalObjectWriter(std::shared_ptr<arrow::fs::FileSystem> fs, std::string temp, std::string target,
                    std::shared_ptr<arrow::io::OutputStream> stream)
      : fs_(std::move(fs)), temp_(std::move(temp)), target_(std::move(target)), stream_(std::move(stream)) {}
  ~LocalObjectWriter() override {
    if (committed_) return;
    (void)stream_->Abort();
    (void)fs_->DeleteFile(temp_);
  }
  [[nodiscard]] std::shared_ptr<arrow::io::OutputStream> stream() const override { return stream_; }
  [[nodiscard]] Status Commit() override {
    PFAD_RETURN_NOT_OK(stream_->Close());
    // rename(2) replaces the target in one step: readers see old or new, never half.
    PFAD_RETURN_NOT_OK(fs_->Move(temp_, target_));
    committed_ = true;
    return Status::OK();
  }

 private:
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string temp_, target_;
  std::shared_ptr<arrow::io::OutputStream> stream_;
  bool committed_ = false;
};

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

// ---- ObjectUri -------------------------------------------------------------

Result<ObjectUri> ObjectUri::Parse(std::string_view text) {
  ObjectUri uri;
  if (text.empty()) return Status::Invalid("empty object URI");
  std::string_view rest;
  if (text.starts_with(kS3Prefix) || text.starts_with(kS3aPrefix)) {
    const bool s3a = text.starts_with(kS3aPrefix);
    uri.scheme = s3a ? Scheme::kS3a : Scheme::kS3;
    rest = text.substr(s3a ? kS3aPrefix.size() : kS3Prefix.size());
    const auto slash = rest.find('/');
    uri.bucket = std::string(rest.substr(0, slash));
    if (uri.bucket.empty()) return Status::Invalid("'", text, "' names no bucket (expected s3://bucket/key)");
    if (slash != std::string_view::npos) {
      std::string_view key = rest.substr(slash + 1);
      while (key.starts_with('/')) key.remove_prefix(1);
      uri.key = std::string(key);
    }
    return uri;
  }
  if (text.starts_with(kFilePrefix)) {
    uri.scheme = Scheme::kFile;
    rest = text.substr(kFilePrefix.size());
    if (!rest.starts_with('/'))
      return Status::Invalid("'", text, "': file:// URIs need an absolute path (file:///dir/file)");
    uri.key = std::string(rest);
    return uri;
  }
  const auto colon = text.find("://");
  if (colon != std::string_view::npos) {
    return Status::Invalid("unsupported URI scheme in '", text,
                           "' (use a local path, file://, s3:// or s3a://)");
  }
  uri.scheme = Scheme::kLocal;
  uri.key = std::string(text);
  return uri;
}

std::string ObjectUri::ToString() const {
  switch (scheme) {
    case Scheme::kLocal:
      return key;
    case Scheme::kFile:
      return std::string(kFilePrefix) + key;
    case Scheme::kS3:
      return std::string(kS3Prefix) + bucket + (key.empty() ? "" : "/" + key);
    case Scheme::kS3a:
      return std::string(kS3aPrefix) + bucket + (key.empty() ? "" : "/" + key);
  }
  return key;
}

std::string ObjectUri::Basename() const {
  const std::string_view k = key;
  const auto slash = k.rfind('/');
  return std::string(slash == std::string_view::npos ? k : k.substr(slash + 1));
}

ObjectUri ObjectUri::Parent() const {
  ObjectUri parent = *this;
  const auto slash = key.rfind('/');
  if (slash == std::string::npos) {
    parent.key = is_s3() ? "" : ".";
  } else {
    parent.key = key.substr(0, slash == 0 ? 1 : slash);
  }
  return parent;
}

ObjectUri ObjectUri::Sibling(std::string_view name) const {
  const auto slash = key.rfind('/');
  ObjectUri sibling = *this;
  sibling.key = (slash == std::string::npos ? std::string() : key.substr(0, slash + 1)) + std::string(name);
  return sibling;
}

ObjectUri ObjectUri::Child(std::string_view name) const {
  ObjectUri child = *this;
  const std::string_view base = StripTrailingSlashes(key);
  if (base.empty() || base == "/") {
    child.key = std::string(base) + std::string(name);
  } else {
    child.key = std::string(base) + "/" + std::string(name);
  }
  return child;
}

std::string ObjectUri::FsPath() const {
  if (is_s3()) return key.empty() ? bucket : bucket + "/" + key;
  std::error_code ec;
  auto abs = std::filesystem::absolute(key, ec);
  return (ec ? std::filesystem::path(key) : abs).lexically_normal().string();
}

// ---- ObjectStore -------------------------------------------------------------

Result<std::shared_ptr<ObjectStore>> ObjectStore::Open(const ObjectUri& uri, const StorageConfig& config) {
  if (!uri.is_s3()) {
    return std::shared_ptr<ObjectStore>(
        new ObjectStore(std::make_shared<arrow::fs::LocalFileSystem>(), false, config));
  }
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
    options.endpoint_override = std::string(StripTrailingSlashes(endpoint));
    if (options.endpoint_override.ends_with('/')) options.endpoint_override.pop_back();
    options.force_virtual_addressing = false;  // path-style, as MinIO expects
  }
  options.connect_timeout = config.connect_timeout_s;
  options.request_timeout = config.request_timeout_s;
  options.retry_strategy = arrow::fs::S3RetryStrategy::GetAwsStandardRetryStrategy(config.max_attempts);
  PFAD_ASSIGN_OR_RAISE(auto fs, arrow::fs::S3FileSystem::Make(options));
  Logger("storage")->debug("opened S3 store endpoint={} region={}", options.endpoint_override,
                           options.region);
  return std::shared_ptr<ObjectStore>(new ObjectStore(std::move(fs), true, config));
}

ObjectStore::~ObjectStore() = default;

Result<ObjectInfo> ObjectStore::Stat(const ObjectUri& uri) const {
  auto info = fs_->GetFileInfo(uri.FsPath());
  if (!info.ok()) return Annotate(info.status(), uri);
  ObjectInfo out;
  out.exists = info->type() != arrow::fs::FileType::NotFound;
  out.is_directory = info->type() == arrow::fs::FileType::Directory;
  out.size = info->size();
  return out;
}

Status ObjectStore::CheckContainer(const ObjectUri& uri) const {
  // Errors name the object the caller asked about, not just its container.
  ObjectUri container = uri.Parent();
  if (s3_) container.key.clear();
  auto info = fs_->GetFileInfo(container.FsPath());
  if (!info.ok()) return Annotate(info.status(), uri);
  if (s3_ && info->type() == arrow::fs::FileType::NotFound) {
    return Status::IOError(uri.ToString(), ": bucket '", uri.bucket, "' does not exist");
  }
  if (!s3_ && info->type() != arrow::fs::FileType::Directory) {
    return Status::IOError(uri.ToString(), ": directory '", container.key, "' does not exist");
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::io::RandomAccessFile>> ObjectStore::OpenForRead(
    const ObjectUri& uri, std::optional<int64_t> known_size) const {
  arrow::fs::FileInfo info(uri.FsPath(), arrow::fs::FileType::File);
  if (known_size) info.set_size(*known_size);
  auto file = known_size ? fs_->OpenInputFile(info) : fs_->OpenInputFile(uri.FsPath());
  if (!file.ok()) return Annotate(file.status(), uri);
  return *std::move(file);
}

Result<std::unique_ptr<ObjectWriter>> ObjectStore::OpenForWrite(const ObjectUri& uri) const {
  const std::string target = uri.FsPath();
  if (s3_) {
    auto stream = fs_->OpenOutputStream(target);
    if (!stream.ok()) return Annotate(stream.status(), uri);
    return std::make_unique<S3ObjectWriter>(*std::move(stream));
  }
  const std::filesystem::path path(target);
  PFAD_RETURN_NOT_OK(Annotate(fs_->CreateDir(path.parent_path().string(), /*recursive=*/true), uri));
  static std::atomic<uint64_t> counter{0};
  const std::string temp =
      (path.parent_path() / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter.fetch_add(1))))
          .string();
  auto stream = fs_->OpenOutputStream(temp);
  if (!stream.ok()) return Annotate(stream.status(), uri);
  return std::make_unique<LocalObjectWriter>(fs_, temp, target, *std::move(stream));
}

Status ObjectStore::Put(const ObjectUri& uri, std::string_view bytes) const {
  PFAD_ASSIGN_OR_RAISE(auto writer, OpenForWrite(uri));
  PFAD_RETURN_NOT_OK(
      Annotate(writer->stream()->Write(bytes.data(), static_cast<int64_t>(bytes.size())), uri));
  return Annotate(writer->Commit(), uri);
}

Result<std::string> ObjectStore::Get(const ObjectUri& uri) const {
  PFAD_ASSIGN_OR_RAISE(auto file, OpenForRead(uri));
  auto size = file->GetSize();
  if (!size.ok()) return Annotate(size.status(), uri);
  auto buffer = file->ReadAt(0, *size);
  if (!buffer.ok()) return Annotate(buffer.status(), uri);
  return (*buffer)->ToString();
}

Status ObjectStore::Delete(const ObjectUri& uri) const {
  return Annotate(fs_->DeleteFile(uri.FsPath()), uri);
}

// ---- Conditional read-merge-write ------------------------------------------------

namespace {

// Path-style URL of an S3 object for the REST calls Arrow's filesystem does not offer.
std::string S3Url(const StorageConfig& config, const ObjectUri& uri) {
  std::string base = config.endpoint;
  if (base.empty()) {
    base =
        "https://s3." + (config.region.empty() ? std::string("us-east-1") : config.region) + ".amazonaws.com";
  } else if (base.find("://") == std::string::npos) {
    const bool loopback = base.starts_with("127.") || base.starts_with("localhost");
    base = (loopback ? "http://" : "https://") + base;
  }
  base = std::string(StripTrailingSlashes(base));
  std::string url = base + "/" + uri.bucket + "/";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : uri.key) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      url.push_back(ch);
    } else {
      url += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return url;
}

Result<HttpRequest> S3Request(const StorageConfig& config, const ObjectUri& uri, std::string method) {
  if (config.access_key.empty() || config.secret_key.empty()) {
    return Status::NotImplemented(uri.ToString(),
                                  ": conditional writes need explicit S3 credentials "
                                  "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or [storage] in the config)");
  }
  HttpRequest request;
  request.method = std::move(method);
  request.url = S3Url(config, uri);
  request.aws_sigv4 = "aws:amz:" + (config.region.empty() ? std::string("us-east-1") : config.region) + ":s3";
  request.user = config.access_key + ":" + config.secret_key;
  if (!config.session_token.empty())
    request.headers.push_back("x-amz-security-token: " + config.session_token);
  // libcurl 7.88 signs a body it cannot hash for S3 wrongly; TLS (or loopback) guards the payload instead.
  request.headers.emplace_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
  request.timeout = std::chrono::milliseconds(static_cast<int64_t>(config.request_timeout_s * 1000));
  request.max_attempts = std::max(1, config.max_attempts);
  return request;
}

// "<Code>NoSuchBucket</Code>" -> "NoSuchBucket".
std::string S3ErrorCode(const std::string& body) {
  const auto begin = body.find("<Code>");
  const auto end = body.find("</Code>");
  if (begin == std::string::npos || end == std::string::npos || end < begin) return "";
  return body.substr(begin + 6, end - begin - 6);
}

// An exclusive or shared flock(2) on a directory, released on destruction.
class DirectoryLock {
 public:
  static Result<DirectoryLock> Take(const std::string& dir, bool exclusive) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::IOError("cannot open directory '", dir, "': ", std::strerror(errno));
    while (::flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::IOError("cannot lock directory '", dir, "': ", std::strerror(err));
    }
    return DirectoryLock(fd);
  }
  DirectoryLock(DirectoryLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  DirectoryLock& operator=(DirectoryLock&&) = delete;
  ~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_;
};

// Version of a local file: changes whenever it is replaced (rename gives a new inode).
std::string LocalVersion(const struct stat& st) {
  return std::to_string(st.st_ino) + "-" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + "-" + std::to_string(st.st_size);
}

Result<std::string> LocalVersionOf(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::string();
    return Status::IOError("cannot stat '", path, "': ", std::strerror(errno));
  }
  return LocalVersion(st);
}

}  // namespace

Result<VersionedObject> ObjectStore::GetVersioned(const ObjectUri& uri) const {
  VersionedObject out;
  if (!s3_) {
    const std::filesystem::path path(uri.FsPath());
    PFAD_ASSIGN_OR_RAISE(auto lock,
                         DirectoryLock::Take(path.parent_path().empty() ? "." : path.parent_path().string(),
                                             /*exclusive=*/false));
    PFAD_ASSIGN_OR_RAISE(out.version, LocalVersionOf(path.string()));
    out.exists = !out.version.empty();
    if (out.exists) {
      PFAD_ASSIGN_OR_RAISE(out.bytes, Get(uri));
    }
    return out;
  }
  PFAD_ASSIGN_OR_RAISE(auto request, S3Request(config_, uri, "GET"));
  auto response = SendHttp(request);
  if (!response.ok()) return Annotate(response.status(), uri);
  if (response->status == 200) {
    out.exists = true;
    out.bytes = std::move(response->body);
    out.version = response->Header("etag");
    if (out.version.empty())
      return Status::IOError(uri.ToString(), ": the store answered GET without an ETag");
    return out;
  }
  const std::string code = S3ErrorCode(response->body);
  if (response->status == 404 && code != "NoSuchBucket") return out;
  return Status::IOError(uri.ToString(), ": GET failed with HTTP ", response->status, " ", code,
                         Hint(code == "AccessDenied" ? "ACCESS_DENIED" : code));
}

Status ObjectStore::PutIfVersion(const ObjectUri& uri, std::string_view bytes,
                                 const std::string& expected_version) const {
  if (!s3_) {
    const std::filesystem::path path(uri.FsPath());
    PFAD_RETURN_NOT_OK(Annotate(fs_->CreateDir(path.parent_path().string(), /*recursive=*/true), uri));
    PFAD_ASSIGN_OR_RAISE(auto lock,
                         DirectoryLock::Take(path.parent_path().empty() ? "." : path.parent_path().string(),
                                             /*exclusive=*/true));
    PFAD_ASSIGN_OR_RAISE(auto current, LocalVersionOf(path.string()));
    if (current != expected_version) {
      return Status::AlreadyExists(uri.ToString(), ": changed by another writer (expected version '",
                                   expected_version, "', found '", current, "')");
    }
    return Put(uri, bytes);
  }
  PFAD_ASSIGN_OR_RAISE(auto request, S3Request(config_, uri, "PUT"));
  request.headers.push_back(expected_version.empty() ? "If-None-Match: *" : "If-Match: " + expected_version);
  request.headers.emplace_back("Content-Type: application/octet-stream");
  request.body_view = bytes;
  auto response = SendHttp(request);
  if (!response.ok()) return Annotate(response.status(), uri);
  if (response->status == 200) return Status::OK();
  const std::string code = S3ErrorCode(response->body);
  if (response->status == 412 || response->status == 409) {
    return Status::AlreadyExists(uri.ToString(), ": changed by another writer (", code, ")");
  }
  return Status::IOError(uri.ToString(), ": PUT failed with HTTP ", response->status, " ", code,
                         Hint(code == "AccessDenied" ? "ACCESS_DENIED" : code));
}

S3Runtime::~S3Runtime() {
  std::lock_guard lock(g_s3_mutex);
  if (g_s3_used) (void)arrow::fs::FinalizeS3();
}

}  // namespace pfad::storage

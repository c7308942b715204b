#include "pfad/storage/object_store.h"

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>

#include <cstdlib>
#include <filesystem>
#include <utility>

#include "pfad/storage/arrow_files.h"
#include "pfad/storage/local_store.h"
#include "pfad/storage/s3_store.h"

namespace pfad::storage {
namespace {

constexpr std::string_view kS3Prefix = "s3://";
constexpr std::string_view kS3aPrefix = "s3a://";
constexpr std::string_view kFilePrefix = "file://";

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
  const std::string_view base = internal::StripTrailingSlashes(key);
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
  if (uri.is_s3()) return S3Store::Make(config);
  return LocalStore::Make();
}

ObjectStore::~ObjectStore() = default;

Status ObjectStore::Put(const ObjectUri& uri, std::string_view bytes) const {
  PFAD_ASSIGN_OR_RAISE(auto writer, OpenForWrite(uri));
  PFAD_RETURN_NOT_OK(
      internal::Annotate(writer->stream()->Write(bytes.data(), static_cast<int64_t>(bytes.size())), uri));
  return internal::Annotate(writer->Commit(), uri);
}

Result<std::string> ObjectStore::Get(const ObjectUri& uri) const {
  PFAD_ASSIGN_OR_RAISE(auto file, OpenForRead(uri));
  auto size = file->GetSize();
  if (!size.ok()) return internal::Annotate(size.status(), uri);
  auto buffer = file->ReadAt(0, *size);
  if (!buffer.ok()) return internal::Annotate(buffer.status(), uri);
  return (*buffer)->ToString();
}

}  // namespace pfad::storage

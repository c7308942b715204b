// One object-store interface over local paths, file://, s3:// and s3a:// URIs.
//
// ObjectStore::Open picks the backend from the URI: LocalStore (local_store.h)
// for paths and file://, S3Store (s3_store.h) for s3:// and s3a://. Callers
// hold an ObjectStore and never name a backend.
//
// Objects are read as Arrow random-access files and written atomically: a
// reader sees either the whole new object or none of it (local files are
// written beside the target and renamed; S3 objects become visible only when
// their upload completes, and a failed upload is aborted). Every backend passes
// the same contract suite, object_store_contract.h, which spells out each
// operation's contract and the few places where the backends differ.
//
// S3 settings (endpoint, region, credentials, timeouts) come from a
// StorageConfig, which the CLI fills from flags, PFAD_* / AWS_* environment
// variables and the config file, never from code.
#pragma once

#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/common/status.h"

#include <arrow/filesystem/type_fwd.h>
#include <arrow/io/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pfad::storage {

// Where an object lives. Local paths are kept absolute-or-relative as given.
struct ObjectUri {
  enum class Scheme { kLocal, kFile, kS3, kS3a };
  Scheme scheme = Scheme::kLocal;
  std::string bucket;  // S3 only
  std::string key;     // S3: key inside the bucket (may be empty); local: the path

  // Parses a local path, file:///abs/path, s3://bucket/key or s3a://bucket/key.
  static Result<ObjectUri> Parse(std::string_view text);

  [[nodiscard]] bool is_s3() const { return scheme == Scheme::kS3 || scheme == Scheme::kS3a; }
  // The URI as the user wrote it (scheme preserved).
  [[nodiscard]] std::string ToString() const;
  // Last path component ("2025-01-15_10-00.parquet").
  [[nodiscard]] std::string Basename() const;
  // The same location with the last component replaced.
  [[nodiscard]] ObjectUri Sibling(std::string_view name) const;
  // A child of this location treated as a directory/prefix.
  [[nodiscard]] ObjectUri Child(std::string_view name) const;
  // The directory or bucket holding the object ("" key for a bucket root).
  [[nodiscard]] ObjectUri Parent() const;
  // Path for Arrow's filesystem: "bucket/key" for S3, the path for local.
  [[nodiscard]] std::string FsPath() const;
};

struct StorageConfig {
  std::string endpoint;    // e.g. http://127.0.0.1:9000; empty = AWS
  std::string region;      // empty = us-east-1
  std::string access_key;  // empty = default AWS credential chain
  std::string secret_key;
  std::string session_token;
  double connect_timeout_s = 3.0;
  double request_timeout_s = 30.0;
  int max_attempts = 3;

  // Environment: AWS_ENDPOINT_URL (or PFAD_S3_ENDPOINT), AWS_REGION /
  // AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  // AWS_SESSION_TOKEN; set values override those already in `base`.
  static StorageConfig FromEnvironment(StorageConfig base);
  // Defaults <- [storage] of the config file <- environment.
  static Result<StorageConfig> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<StorageConfig>& Settings();
};

struct ObjectInfo {
  bool exists = false;
  bool is_directory = false;
  int64_t size = 0;
  int64_t mtime_ns = 0;  // last modification (S3: whole seconds), 0 when unknown
};

// A whole object with a version tag for PutIfVersion (S3: its ETag).
struct VersionedObject {
  bool exists = false;
  std::string bytes;
  std::string version;
};

// Something being written; becomes visible only on Commit(). Destroying an
// uncommitted writer discards what was written.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  [[nodiscard]] virtual std::shared_ptr<arrow::io::OutputStream> stream() const = 0;
  [[nodiscard]] virtual Status Commit() = 0;
};

class ObjectStore {
 public:
  // A store able to reach `uri` (local filesystem, or S3 with `config`).
  static Result<std::shared_ptr<ObjectStore>> Open(const ObjectUri& uri, const StorageConfig& config);
  virtual ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // Metadata of an object; exists=false when it is absent, also when its bucket
  // or directory is (CheckContainer tells the two apart). Fails (IOError) when
  // access is denied or the store is unreachable.
  [[nodiscard]] virtual Result<ObjectInfo> Stat(const ObjectUri& uri) const = 0;
  // Fails unless the bucket (S3) or directory (local) holding `uri` exists.
  [[nodiscard]] virtual Status CheckContainer(const ObjectUri& uri) const = 0;

  // Opens an object for reading; a known size (from Stat) saves a request on S3.
  [[nodiscard]] Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(
      const ObjectUri& uri, std::optional<int64_t> known_size = std::nullopt) const {
    return OpenFile(uri, known_size);
  }
  [[nodiscard]] virtual Result<std::unique_ptr<ObjectWriter>> OpenForWrite(const ObjectUri& uri) const = 0;
  // Writes a whole object atomically.
  [[nodiscard]] Status Put(const ObjectUri& uri, std::string_view bytes) const;
  // Reads a whole object. S3 asks for its size, then its bytes: an object
  // replaced in between can read as a part of the new one (GetVersioned cannot).
  [[nodiscard]] Result<std::string> Get(const ObjectUri& uri) const;
  [[nodiscard]] virtual Status Delete(const ObjectUri& uri) const = 0;

  // Read-merge-write for objects that several writers update (ingest's minute
  // objects): GetVersioned reads the object and its version; PutIfVersion
  // stores `bytes` only if the object is still at `expected_version` ("" = it
  // must not exist yet), else fails with AlreadyExists, and the caller reads
  // again, merges and retries. S3: conditional PUT (If-Match / If-None-Match);
  // local: the same check under an exclusive lock on the directory.
  [[nodiscard]] virtual Result<VersionedObject> GetVersioned(const ObjectUri& uri) const = 0;
  [[nodiscard]] virtual Status PutIfVersion(const ObjectUri& uri, std::string_view bytes,
                                            const std::string& expected_version) const = 0;

  // The Arrow filesystem underneath, for what the interface does not offer
  // (listing a directory or prefix with arrow::fs::FileSelector).
  [[nodiscard]] virtual const std::shared_ptr<arrow::fs::FileSystem>& filesystem() const = 0;

 protected:
  ObjectStore() = default;
  // OpenForRead without the default argument (overrides take none).
  [[nodiscard]] virtual Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenFile(
      const ObjectUri& uri, std::optional<int64_t> known_size) const = 0;
};

// Initialises the AWS SDK on first S3 use and shuts it down when destroyed.
// Create one in main(), before any ObjectStore, and let it outlive them all.
class S3Runtime {
 public:
  S3Runtime() = default;
  ~S3Runtime();
  S3Runtime(const S3Runtime&) = delete;
  S3Runtime& operator=(const S3Runtime&) = delete;
};

}  // namespace pfad::storage

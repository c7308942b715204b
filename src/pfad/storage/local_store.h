// The object store over the local filesystem: plain paths and file:// URIs.
//
// An object is a file, a container is the directory holding it, and writes
// create missing directories. A write goes to a hidden temporary file beside
// the target (".<name>.tmp-<pid>-<n>") and is renamed over it on Commit, so
// readers see the whole old or the whole new file; an uncommitted writer
// deletes its temporary file. Versions for PutIfVersion are
// "<inode>-<mtime>-<size>" (a rename gives a new inode), checked and replaced
// under an exclusive flock(2) on the directory, which GetVersioned takes
// shared: writers on one host serialise, readers never see a half-updated pair.
#pragma once

#include <memory>
#include <string>

#include "pfad/storage/object_store.h"

namespace pfad::storage {

class LocalStore final : public ObjectStore {
 public:
  static std::shared_ptr<LocalStore> Make();

  [[nodiscard]] Result<ObjectInfo> Stat(const ObjectUri& uri) const override;
  [[nodiscard]] Status CheckContainer(const ObjectUri& uri) const override;
  [[nodiscard]] Result<std::unique_ptr<ObjectWriter>> OpenForWrite(const ObjectUri& uri) const override;
  [[nodiscard]] Status Delete(const ObjectUri& uri) const override;
  [[nodiscard]] Result<VersionedObject> GetVersioned(const ObjectUri& uri) const override;
  [[nodiscard]] Status PutIfVersion(const ObjectUri& uri, std::string_view bytes,
                                    const std::string& expected_version) const override;
  [[nodiscard]] const std::shared_ptr<arrow::fs::FileSystem>& filesystem() const override { return fs_; }

 private:
  explicit LocalStore(std::shared_ptr<arrow::fs::FileSystem> fs) : fs_(std::move(fs)) {}
  [[nodiscard]] Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenFile(
      const ObjectUri& uri, std::optional<int64_t> known_size) const override;

  std::shared_ptr<arrow::fs::FileSystem> fs_;
};

}  // namespace pfad::storage

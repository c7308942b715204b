#include "pfad/storage/local_store.h"

#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "pfad/storage/arrow_files.h"

namespace pfad::storage {
namespace {

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

// The directory holding `path`, for its lock.
std::string DirectoryOf(const std::filesystem::path& path) {
  return path.parent_path().empty() ? "." : path.parent_path().string();
}

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

std::shared_ptr<LocalStore> LocalStore::Make() {
  return std::shared_ptr<LocalStore>(new LocalStore(std::make_shared<arrow::fs::LocalFileSystem>()));
}

Result<ObjectInfo> LocalStore::Stat(const ObjectUri& uri) const { return internal::StatFile(*fs_, uri); }

Status LocalStore::CheckContainer(const ObjectUri& uri) const {
  // Errors name the object the caller asked about, not just its directory.
  const ObjectUri container = uri.Parent();
  auto info = fs_->GetFileInfo(container.FsPath());
  if (!info.ok()) return internal::Annotate(info.status(), uri);
  if (info->type() != arrow::fs::FileType::Directory) {
    return Status::IOError(uri.ToString(), ": directory '", container.key, "' does not exist");
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::io::RandomAccessFile>> LocalStore::OpenFile(
    const ObjectUri& uri, std::optional<int64_t> known_size) const {
  return internal::OpenFile(*fs_, uri, known_size);
}

Result<std::unique_ptr<ObjectWriter>> LocalStore::OpenForWrite(const ObjectUri& uri) const {
  const std::filesystem::path path(uri.FsPath());
  PFAD_RETURN_NOT_OK(
      internal::Annotate(fs_->CreateDir(path.parent_path().string(), /*recursive=*/true), uri));
  static std::atomic<uint64_t> counter{0};
  const std::string temp =
      (path.parent_path() / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter.fetch_add(1))))
          .string();
  auto stream = fs_->OpenOutputStream(temp);
  if (!stream.ok()) return internal::Annotate(stream.status(), uri);
  return std::make_unique<LocalObjectWriter>(fs_, temp, path.string(), *std::move(stream));
}

Status LocalStore::Delete(const ObjectUri& uri) const { return internal::DeleteFile(*fs_, uri); }

Result<VersionedObject> LocalStore::GetVersioned(const ObjectUri& uri) const {
  VersionedObject out;
  const std::filesystem::path path(uri.FsPath());
  // Errors name the object asked about, not only the directory or file that failed.
  auto lock = DirectoryLock::Take(DirectoryOf(path), /*exclusive=*/false);
  if (!lock.ok()) return internal::Annotate(lock.status(), uri);
  auto version = LocalVersionOf(path.string());
  if (!version.ok()) return internal::Annotate(version.status(), uri);
  out.version = *std::move(version);
  out.exists = !out.version.empty();
  if (out.exists) {
    PFAD_ASSIGN_OR_RAISE(out.bytes, Get(uri));
  }
  return out;
}

Status LocalStore::PutIfVersion(const ObjectUri& uri, std::string_view bytes,
                                const std::string& expected_version) const {
  const std::filesystem::path path(uri.FsPath());
  PFAD_RETURN_NOT_OK(
      internal::Annotate(fs_->CreateDir(path.parent_path().string(), /*recursive=*/true), uri));
  auto lock = DirectoryLock::Take(DirectoryOf(path), /*exclusive=*/true);
  if (!lock.ok()) return internal::Annotate(lock.status(), uri);
  auto found = LocalVersionOf(path.string());
  if (!found.ok()) return internal::Annotate(found.status(), uri);
  const std::string& current = *found;
  if (current != expected_version) {
    return Status::AlreadyExists(uri.ToString(), ": changed by another writer (expected version '",
                                 expected_version, "', found '", current, "')");
  }
  return Put(uri, bytes);
}

}  // namespace pfad::storage

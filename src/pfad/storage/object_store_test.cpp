#include "pfad/storage/object_store.h"

#include <arrow/io/interfaces.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "pfad/storage/local_store.h"
#include "pfad/storage/object_store_contract.h"

namespace pfad::storage {
namespace {

namespace fs = std::filesystem;

TEST(ObjectUri, ParsesEveryScheme) {
  auto s3a = ObjectUri::Parse("s3a://bucket/2025-01-15_11-00").ValueOrDie();
  EXPECT_EQ(s3a.scheme, ObjectUri::Scheme::kS3a);
  EXPECT_EQ(s3a.bucket, "bucket");
  EXPECT_EQ(s3a.key, "2025-01-15_11-00");
  EXPECT_EQ(s3a.ToString(), "s3a://bucket/2025-01-15_11-00");
  EXPECT_EQ(s3a.FsPath(), "bucket/2025-01-15_11-00");

  auto s3 = ObjectUri::Parse("s3://b/dir/x.parquet").ValueOrDie();
  EXPECT_EQ(s3.Basename(), "x.parquet");
  EXPECT_EQ(s3.Sibling("x.json").ToString(), "s3://b/dir/x.json");
  EXPECT_EQ(s3.Parent().ToString(), "s3://b/dir");

  auto file = ObjectUri::Parse("file:///tmp/a/b.parquet").ValueOrDie();
  EXPECT_EQ(file.scheme, ObjectUri::Scheme::kFile);
  EXPECT_EQ(file.FsPath(), "/tmp/a/b.parquet");
  EXPECT_EQ(file.Sibling("b.json").ToString(), "file:///tmp/a/b.json");

  auto local = ObjectUri::Parse("data/x.parquet").ValueOrDie();
  EXPECT_EQ(local.scheme, ObjectUri::Scheme::kLocal);
  EXPECT_EQ(local.Sibling("x.json").ToString(), "data/x.json");
  EXPECT_TRUE(fs::path(local.FsPath()).is_absolute());
  EXPECT_EQ(ObjectUri::Parse("x.parquet")->Sibling("x.json").ToString(), "x.json");
}

TEST(ObjectUri, ChildOfBucketOrDirectory) {
  EXPECT_EQ(ObjectUri::Parse("s3://b")->Child("x.json").ToString(), "s3://b/x.json");
  EXPECT_EQ(ObjectUri::Parse("s3://b/reports/")->Child("x.json").ToString(), "s3://b/reports/x.json");
  EXPECT_EQ(ObjectUri::Parse("/tmp/out")->Child("x.json").ToString(), "/tmp/out/x.json");
}

TEST(ObjectUri, RejectsWhatItCannotReach) {
  EXPECT_TRUE(ObjectUri::Parse("").status().IsInvalid());
  EXPECT_TRUE(ObjectUri::Parse("s3:///key").status().IsInvalid());
  EXPECT_TRUE(ObjectUri::Parse("gs://bucket/key").status().IsInvalid());
  EXPECT_TRUE(ObjectUri::Parse("file://relative/path").status().IsInvalid());
}

TEST(StorageConfig, EnvironmentOverridesTheConfigFile) {
  auto file =
      ConfigFile::Parse("[storage]\nendpoint = \"http://file:1\"\nregion = \"eu-west-1\"\n").ValueOrDie();
  ::setenv("AWS_ENDPOINT_URL", "http://env:2", 1);
  ::unsetenv("PFAD_S3_ENDPOINT");
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  auto config = StorageConfig::Resolve(file).ValueOrDie();
  EXPECT_EQ(config.endpoint, "http://env:2");
  EXPECT_EQ(config.region, "eu-west-1");
  ::unsetenv("AWS_ENDPOINT_URL");
  EXPECT_EQ(StorageConfig::Resolve(file)->endpoint, "http://file:1");
  auto wrong = ConfigFile::Parse("[storage]\nmax_attempts = \"three\"\n").ValueOrDie();
  EXPECT_TRUE(StorageConfig::Resolve(wrong).status().IsInvalid());
}

// The local backend of the contract suite: a fresh directory per test.
struct LocalBackend {
  static constexpr bool kWritesCreateContainers = true;
  static constexpr bool kGetReadsOneVersion = true;  // an open file keeps its inode

  void SetUp() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name =
        "pfad-contract-" + std::to_string(::getpid()) + "-" + test->test_suite_name() + "-" + test->name();
    std::replace(name.begin(), name.end(), '/', '.');  // "Local/ObjectStoreContract/0"
    dir = fs::temp_directory_path() / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    local = LocalStore::Make();
  }
  void TearDown() {
    Allow();
    fs::remove_all(dir);
  }
  [[nodiscard]] std::shared_ptr<ObjectStore> store() const { return local; }
  [[nodiscard]] ObjectUri root() const { return ObjectUri::Parse(dir.string()).ValueOrDie(); }
  [[nodiscard]] ObjectUri InMissingContainer() const { return root().Child("missing/x.json"); }
  Result<DeniedObject> Denied() {
    if (::geteuid() == 0) {
      return DeniedObject{.skip_reason =
                              "running as root, whom file modes do not deny; the S3 variant of this "
                              "test (tests/integration/test_storage_contract.py) runs regardless"};
    }
    DeniedObject denied{.store = local, .object = root().Child("locked/secret.json"), .bytes = "kept"};
    PFAD_RETURN_NOT_OK(local->Put(denied.object, denied.bytes));
    locked = dir / "locked";
    fs::permissions(locked, fs::perms::none);
    return denied;
  }
  void Allow() {
    if (!locked.empty()) fs::permissions(locked, fs::perms::owner_all);
  }

  fs::path dir;
  fs::path locked;
  std::shared_ptr<LocalStore> local;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Local, ObjectStoreContract, LocalBackend);

TEST(ObjectStoreOpen, PathsAndFileUrisOpenTheLocalStore) {
  for (const char* uri : {"data/x.parquet", "file:///tmp/x.parquet"}) {
    auto store = ObjectStore::Open(ObjectUri::Parse(uri).ValueOrDie(), StorageConfig{}).ValueOrDie();
    EXPECT_NE(dynamic_cast<LocalStore*>(store.get()), nullptr) << uri;
  }
}

TEST(LocalStore, CheckContainerNamesTheMissingDirectory) {
  auto store = LocalStore::Make();
  const auto dir = fs::temp_directory_path() / ("pfad-check-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  EXPECT_TRUE(store->CheckContainer(ObjectUri::Parse((dir / "x.parquet").string()).ValueOrDie()).ok());
  const Status st =
      store->CheckContainer(ObjectUri::Parse((dir / "missing/x.parquet").string()).ValueOrDie());
  EXPECT_TRUE(st.IsIOError());
  EXPECT_NE(st.message().find("does not exist"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("directory '" + (dir / "missing").string() + "'"), std::string::npos)
      << st.ToString();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pfad::storage

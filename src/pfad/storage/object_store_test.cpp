#include "pfad/storage/object_store.h"

#include "pfad/storage/local_store_fixture.h"

#include <arrow/io/interfaces.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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

class LocalStoreTest : public LocalStoreFixture {
 protected:
  size_t Entries() const { return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {})); }
};

TEST_F(LocalStoreTest, PutGetStatDelete) {
  EXPECT_FALSE(store_->Stat(Uri("a.json"))->exists);
  ASSERT_TRUE(store_->Put(Uri("a.json"), "{\"x\": 1}").ok());
  auto info = store_->Stat(Uri("a.json")).ValueOrDie();
  EXPECT_TRUE(info.exists);
  EXPECT_EQ(info.size, 8);
  EXPECT_EQ(store_->Get(Uri("a.json")).ValueOrDie(), "{\"x\": 1}");
  ASSERT_TRUE(store_->Put(Uri("a.json"), "new").ok());
  EXPECT_EQ(store_->Get(Uri("a.json")).ValueOrDie(), "new");
  EXPECT_EQ(Entries(), 1U) << "no temporary file may be left behind";
  ASSERT_TRUE(store_->Delete(Uri("a.json")).ok());
  EXPECT_FALSE(store_->Stat(Uri("a.json"))->exists);
}

TEST_F(LocalStoreTest, UncommittedWriteLeavesNothing) {
  ASSERT_TRUE(store_->Put(Uri("r.json"), "old").ok());
  {
    auto writer = store_->OpenForWrite(Uri("r.json")).ValueOrDie();
    ASSERT_TRUE(writer->stream()->Write("half", 4).ok());
    EXPECT_EQ(store_->Get(Uri("r.json")).ValueOrDie(), "old") << "readers never see a write in progress";
  }
  EXPECT_EQ(store_->Get(Uri("r.json")).ValueOrDie(), "old");
  EXPECT_EQ(Entries(), 1U);
}

TEST_F(LocalStoreTest, WriteCreatesMissingDirectories) {
  ASSERT_TRUE(store_->Put(Uri("sub/dir/x.json"), "x").ok());
  EXPECT_EQ(store_->Get(Uri("sub/dir/x.json")).ValueOrDie(), "x");
}

TEST_F(LocalStoreTest, CheckContainerNamesTheMissingDirectory) {
  EXPECT_TRUE(store_->CheckContainer(Uri("x.parquet")).ok());
  const Status st = store_->CheckContainer(Uri("missing/x.parquet"));
  EXPECT_TRUE(st.IsIOError());
  EXPECT_NE(st.message().find("does not exist"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace pfad::storage

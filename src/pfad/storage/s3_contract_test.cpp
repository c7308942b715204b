// The object-store contract suite (object_store_contract.h) against S3Store on
// a real S3-compatible store. tests/integration/test_storage_contract.py runs
// it against the MinIO of scripts/services/minio.sh with a fresh bucket:
//
//   PFAD_S3_CONTRACT_BUCKET=<existing, empty bucket>
//   AWS_ENDPOINT_URL (or PFAD_S3_ENDPOINT), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
//
// Each test works under its own key prefix of that bucket. Without those
// variables, or when the store does not answer, the binary fails (exit 2)
// rather than skip: an integration test that cannot reach its service has
// not passed.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "pfad/storage/object_store_contract.h"
#include "pfad/storage/s3_store.h"

namespace pfad::storage {
namespace {

constexpr const char* kBucketVariable = "PFAD_S3_CONTRACT_BUCKET";

struct S3Target {
  StorageConfig config;
  std::string bucket;
};

S3Target& Target() {
  static S3Target target;
  return target;
}

std::string RandomHex(int digits) {
  static std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(kHex[random() % 16]);
  return out;
}

struct S3Backend {
  static constexpr bool kWritesCreateContainers = false;
  static constexpr bool kGetReadsOneVersion = false;  // a size request, then ranged GETs

  void SetUp() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    static std::atomic<int> counter{0};
    prefix = ObjectUri::Parse("s3://" + Target().bucket + "/" + test->name() + "-" +
                              std::to_string(counter.fetch_add(1)) + "-" + RandomHex(6) + "/")
                 .ValueOrDie();
    auto made = S3Store::Make(Target().config);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    s3 = *std::move(made);
  }
  void TearDown() {}
  [[nodiscard]] std::shared_ptr<ObjectStore> store() const { return s3; }
  [[nodiscard]] ObjectUri root() const { return prefix; }
  [[nodiscard]] ObjectUri InMissingContainer() const {
    return ObjectUri::Parse("s3://pfad-missing-" + RandomHex(12) + "/x.json").ValueOrDie();
  }
  Result<DeniedObject> Denied() {
    DeniedObject denied{.object = root().Child("secret.json"), .bytes = "kept"};
    PFAD_RETURN_NOT_OK(s3->Put(denied.object, denied.bytes));
    StorageConfig wrong = Target().config;
    wrong.secret_key = "wrong-secret-for-the-contract-test";  // pfad:not-a-secret (wrong on purpose)
    wrong.max_attempts = 1;
    PFAD_ASSIGN_OR_RAISE(denied.store, S3Store::Make(wrong));
    return denied;
  }
  void Allow() {}

  ObjectUri prefix;
  std::shared_ptr<S3Store> s3;
};

INSTANTIATE_TYPED_TEST_SUITE_P(S3, ObjectStoreContract, S3Backend);

TEST(ObjectStoreOpen, S3UrisOpenTheS3Store) {
  for (const char* scheme : {"s3://", "s3a://"}) {
    auto uri = ObjectUri::Parse(scheme + Target().bucket + "/x.parquet").ValueOrDie();
    auto store = ObjectStore::Open(uri, Target().config).ValueOrDie();
    EXPECT_NE(dynamic_cast<S3Store*>(store.get()), nullptr) << scheme;
  }
}

// Empty when the environment names a store to test, else what is missing.
std::string MissingSettings() {
  Target().config = StorageConfig::FromEnvironment(StorageConfig{});
  const char* bucket = std::getenv(kBucketVariable);
  Target().bucket = bucket == nullptr ? "" : bucket;
  std::string missing;
  if (Target().bucket.empty()) missing += std::string(" ") + kBucketVariable;
  if (Target().config.endpoint.empty()) missing += " AWS_ENDPOINT_URL";
  if (Target().config.access_key.empty()) missing += " AWS_ACCESS_KEY_ID";
  if (Target().config.secret_key.empty()) missing += " AWS_SECRET_ACCESS_KEY";
  return missing;
}

}  // namespace
}  // namespace pfad::storage

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();
  using pfad::storage::Target;
  if (const std::string missing = pfad::storage::MissingSettings(); !missing.empty()) {
    std::fprintf(stderr,
                 "storage_s3_contract_test: set%s (an S3-compatible store and an existing bucket to test "
                 "in; tests/integration/test_storage_contract.py does)\n",
                 missing.c_str());
    return 2;
  }
  pfad::storage::S3Runtime runtime;
  {
    // Fail at once, with the reason, when the store does not answer or the bucket is missing.
    auto store = pfad::storage::S3Store::Make(Target().config);
    const pfad::Status reached =
        store.ok() ? (*store)->CheckContainer(
                         pfad::storage::ObjectUri::Parse("s3://" + Target().bucket + "/probe").ValueOrDie())
                   : store.status();
    if (!reached.ok()) {
      std::fprintf(stderr, "storage_s3_contract_test: cannot use %s: %s\n", Target().config.endpoint.c_str(),
                   reached.ToString().c_str());
      return 2;
    }
  }
  return RUN_ALL_TESTS();
}

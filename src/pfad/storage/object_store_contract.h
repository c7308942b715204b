// The contract every ObjectStore backend keeps: one typed GoogleTest suite
// that each backend instantiates (in the spirit of Arrow's
// GenericFileSystemTest). LocalStore runs it in storage_test, S3Store on a real
// MinIO in storage_s3_contract_test (tests/integration/test_storage_contract.py).
//
// A backend is a type with:
//   static constexpr bool kWritesCreateContainers;  // see "Missing" below
//   static constexpr bool kGetReadsOneVersion;      // see "GetVersioned" below
//   void SetUp();     // a store and a fresh, empty root for one test (may ASSERT)
//   void TearDown();
//   std::shared_ptr<ObjectStore> store() const;
//   ObjectUri root() const;                // that root: a directory or a key prefix
//   ObjectUri InMissingContainer() const;  // an object whose bucket/directory does not exist
//   Result<DeniedObject> Denied();         // an existing object a store may not read
//   void Allow();                          // undoes Denied() for the test's own store
// and is instantiated with
//   INSTANTIATE_TYPED_TEST_SUITE_P(Local, ObjectStoreContract, LocalBackend);
//
// The contract, operation by operation:
//   Put/Get       a round trip returns the bytes (empty and binary ones too);
//                 a Put replaces the object; writes create intermediate prefixes.
//   OpenForWrite  nothing is visible before Commit; a writer destroyed
//                 uncommitted leaves the old object (or none) and no stray entry.
//   GetVersioned  a reader racing a writer sees the whole old or the whole new
//                 object, never a mix or a part; so does Get where
//                 kGetReadsOneVersion. (S3's Get asks for the size, then for the
//                 bytes: a replacement in between shows through as a part of the
//                 new object or too few bytes. Read what others replace with
//                 GetVersioned.)
//   PutIfVersion  succeeds only at the expected version ("" = absent); a writer
//                 holding a stale version fails AlreadyExists and leaves the
//                 winner's bytes; of writers racing on one version exactly one wins.
//   GetVersioned  a missing object is exists=false with no bytes and no version;
//                 the version changes when the object is replaced.
//   Stat          size of an object; a prefix with objects under it is a directory.
//   Listing       through filesystem() (arrow::fs::FileSelector, not recursive,
//                 as fraud::ListMinuteObjects does): exactly the objects and the
//                 sub-prefixes directly under a prefix ("a" never shows "ab/…").
//   Missing       a missing object is exists=false (Stat, GetVersioned) and
//                 CheckContainer passes. An object in a missing container is
//                 exists=false to Stat too, but CheckContainer and GetVersioned
//                 fail with an IOError naming it. Writes into a missing container
//                 create it when kWritesCreateContainers (local directories),
//                 else fail with an IOError naming it (S3 buckets).
//   Denied        a store that may not read an object (S3: wrong credentials;
//                 local: an unreadable directory) fails every operation with an
//                 IOError naming the object, never reports it missing, and
//                 changes nothing. Backends that cannot deny access here (local
//                 files as root) skip this one test and say why.
//   Delete        removes the object; deleting a missing object is an IOError.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pfad/storage/object_store.h"

// STORE_ASSERT_OK(status) and STORE_ASSERT_OK_AND_ASSIGN(auto x, MakeX()): fail the test with the Status
// text.
#define STORE_ASSERT_OK(expr)                                    \
  do {                                                           \
    const ::pfad::Status _store_status = (expr);                 \
    ASSERT_TRUE(_store_status.ok()) << _store_status.ToString(); \
  } while (false)
#define STORE_CONCAT_INNER(a, b) a##b
#define STORE_CONCAT(a, b) STORE_CONCAT_INNER(a, b)
#define STORE_ASSERT_OK_AND_ASSIGN_IMPL(result, lhs, rexpr) \
  auto result = (rexpr);                                    \
  ASSERT_TRUE(result.ok()) << result.status().ToString();   \
  lhs = std::move(result).ValueUnsafe()
#define STORE_ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  STORE_ASSERT_OK_AND_ASSIGN_IMPL(STORE_CONCAT(_store_result_, __LINE__), lhs, rexpr)

namespace pfad::storage {

// An existing object and a store that is denied access to it; or, when the
// backend cannot deny access here, why (the test is skipped with that reason).
struct DeniedObject {
  std::shared_ptr<ObjectStore> store;
  ObjectUri object;
  std::string bytes;  // what the object holds, to check nothing changed
  std::string skip_reason;
};

template <typename Backend>
class ObjectStoreContract : public ::testing::Test {
 protected:
  void SetUp() override { backend_.SetUp(); }
  void TearDown() override { backend_.TearDown(); }

  [[nodiscard]] const ObjectStore& store() const { return *backend_.store(); }
  [[nodiscard]] ObjectUri At(std::string_view name) const { return backend_.root().Child(name); }

  // What filesystem() lists directly under `dir`, sorted: object names, and
  // sub-prefixes with a trailing '/'.
  [[nodiscard]] Result<std::vector<std::string>> List(const ObjectUri& dir) const {
    arrow::fs::FileSelector selector;
    selector.base_dir = dir.FsPath();
    selector.recursive = false;
    PFAD_ASSIGN_OR_RAISE(auto infos, store().filesystem()->GetFileInfo(selector));
    std::vector<std::string> names;
    for (const auto& info : infos) {
      names.push_back(info.base_name() + (info.type() == arrow::fs::FileType::Directory ? "/" : ""));
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  Backend backend_;
};

TYPED_TEST_SUITE_P(ObjectStoreContract);

TYPED_TEST_P(ObjectStoreContract, PutGetStatDelete) {
  const ObjectStore& store = this->store();
  const ObjectUri a = this->At("a.json");
  STORE_ASSERT_OK_AND_ASSIGN(auto before, store.Stat(a));
  EXPECT_FALSE(before.exists);
  STORE_ASSERT_OK(store.Put(a, "{\"x\": 1}"));
  STORE_ASSERT_OK_AND_ASSIGN(auto info, store.Stat(a));
  EXPECT_TRUE(info.exists);
  EXPECT_FALSE(info.is_directory);
  EXPECT_EQ(info.size, 8);
  STORE_ASSERT_OK_AND_ASSIGN(auto bytes, store.Get(a));
  EXPECT_EQ(bytes, "{\"x\": 1}");
  STORE_ASSERT_OK(store.Put(a, "new"));
  STORE_ASSERT_OK_AND_ASSIGN(bytes, store.Get(a));
  EXPECT_EQ(bytes, "new");
  STORE_ASSERT_OK_AND_ASSIGN(auto names, this->List(this->backend_.root()));
  EXPECT_THAT(names, ::testing::ElementsAre("a.json")) << "no temporary file may be left behind";
  STORE_ASSERT_OK(store.Delete(a));
  STORE_ASSERT_OK_AND_ASSIGN(auto after, store.Stat(a));
  EXPECT_FALSE(after.exists);
  const Status gone = store.Get(a).status();
  EXPECT_TRUE(gone.IsIOError()) << gone.ToString();
  EXPECT_THAT(gone.message(), ::testing::HasSubstr(a.ToString()));
}

TYPED_TEST_P(ObjectStoreContract, EmptyAndBinaryObjectsRoundTrip) {
  const ObjectStore& store = this->store();
  STORE_ASSERT_OK(store.Put(this->At("empty"), ""));
  STORE_ASSERT_OK_AND_ASSIGN(auto info, store.Stat(this->At("empty")));
  EXPECT_TRUE(info.exists);
  EXPECT_EQ(info.size, 0);
  STORE_ASSERT_OK_AND_ASSIGN(auto empty, store.Get(this->At("empty")));
  EXPECT_EQ(empty, "");
  std::string binary;
  for (int i = 0; i < 3 * 256; ++i) binary.push_back(static_cast<char>(i % 256));
  STORE_ASSERT_OK(store.Put(this->At("binary.bin"), binary));
  STORE_ASSERT_OK_AND_ASSIGN(auto got, store.Get(this->At("binary.bin")));
  EXPECT_EQ(got, binary);
  STORE_ASSERT_OK_AND_ASSIGN(auto versioned, store.GetVersioned(this->At("binary.bin")));
  EXPECT_EQ(versioned.bytes, binary);
}

TYPED_TEST_P(ObjectStoreContract, WriteCreatesMissingDirectories) {
  STORE_ASSERT_OK(this->store().Put(this->At("sub/dir/x.json"), "x"));
  STORE_ASSERT_OK_AND_ASSIGN(auto bytes, this->store().Get(this->At("sub/dir/x.json")));
  EXPECT_EQ(bytes, "x");
}

TYPED_TEST_P(ObjectStoreContract, UncommittedWriteLeavesNothing) {
  const ObjectStore& store = this->store();
  const ObjectUri r = this->At("r.json");
  STORE_ASSERT_OK(store.Put(r, "old"));
  {
    STORE_ASSERT_OK_AND_ASSIGN(auto writer, store.OpenForWrite(r));
    STORE_ASSERT_OK(writer->stream()->Write("half", 4));
    STORE_ASSERT_OK_AND_ASSIGN(auto seen, store.Get(r));
    EXPECT_EQ(seen, "old") << "readers never see a write in progress";
  }
  STORE_ASSERT_OK_AND_ASSIGN(auto after, store.Get(r));
  EXPECT_EQ(after, "old");
  {
    // A new object is not there at all until its writer commits.
    STORE_ASSERT_OK_AND_ASSIGN(auto writer, store.OpenForWrite(this->At("n.json")));
    STORE_ASSERT_OK(writer->stream()->Write("never", 5));
    STORE_ASSERT_OK_AND_ASSIGN(auto info, store.Stat(this->At("n.json")));
    EXPECT_FALSE(info.exists);
  }
  STORE_ASSERT_OK_AND_ASSIGN(auto info, store.Stat(this->At("n.json")));
  EXPECT_FALSE(info.exists) << "a destroyed uncommitted writer leaves nothing";
  STORE_ASSERT_OK_AND_ASSIGN(auto names, this->List(this->backend_.root()));
  EXPECT_THAT(names, ::testing::ElementsAre("r.json"));
}

TYPED_TEST_P(ObjectStoreContract, ACommitPublishesTheWholeObjectAtOnce) {
  const ObjectStore& store = this->store();
  const ObjectUri r = this->At("r.json");
  STORE_ASSERT_OK(store.Put(r, "old"));
  STORE_ASSERT_OK_AND_ASSIGN(auto writer, store.OpenForWrite(r));
  STORE_ASSERT_OK(writer->stream()->Write("new ", 4));
  STORE_ASSERT_OK(writer->stream()->Write("bytes", 5));
  STORE_ASSERT_OK_AND_ASSIGN(auto before, store.Get(r));
  EXPECT_EQ(before, "old");
  STORE_ASSERT_OK(writer->Commit());
  STORE_ASSERT_OK_AND_ASSIGN(auto after, store.Get(r));
  EXPECT_EQ(after, "new bytes");
}

TYPED_TEST_P(ObjectStoreContract, AReaderSeesTheWholeOldOrTheWholeNewObject) {
  const ObjectStore& store = this->store();
  const ObjectUri r = this->At("r.bin");
  // Different sizes and contents: a torn, mixed or truncated read cannot pass for either.
  const std::string small(1000, 'a');
  const std::string large(200 * 1000, 'b');
  STORE_ASSERT_OK(store.Put(r, small));
  std::atomic<bool> done{false};
  Status write_error;
  std::thread writer([&] {
    for (int i = 0; i < 30 && write_error.ok(); ++i) write_error = store.Put(r, i % 2 == 0 ? large : small);
    done = true;
  });
  int reads = 0;
  std::vector<std::string> torn;
  while (!done) {
    std::vector<Result<std::string>> reads_now;
    reads_now.push_back(store.GetVersioned(r).Map([](auto v) { return v.bytes; }));
    if constexpr (TypeParam::kGetReadsOneVersion) reads_now.push_back(store.Get(r));
    for (const auto& got : reads_now) {
      ++reads;
      if (!got.ok()) {
        torn.push_back(got.status().ToString());
      } else if (*got != small && *got != large) {
        torn.push_back("read " + std::to_string(got->size()) + " bytes starting '" + got->substr(0, 8) + "'");
      }
    }
  }
  writer.join();
  STORE_ASSERT_OK(write_error);
  EXPECT_GT(reads, 0);
  EXPECT_THAT(torn, ::testing::IsEmpty()) << "of " << reads << " reads";
}

// Moved from ingest's minute-object tests: the read-merge-write they rely on.
TYPED_TEST_P(ObjectStoreContract, AConditionalWriteLosesToAConcurrentWriter) {
  const ObjectStore& store = this->store();
  const auto uri = this->At("x.bin");
  ASSERT_TRUE(store.PutIfVersion(uri, "one", "").ok());
  auto v1 = store.GetVersioned(uri).ValueOrDie();
  EXPECT_TRUE(v1.exists);
  EXPECT_EQ(v1.bytes, "one");
  EXPECT_TRUE(store.PutIfVersion(uri, "two", "").IsAlreadyExists());  // must not exist: it does
  ASSERT_TRUE(store.PutIfVersion(uri, "two", v1.version).ok());
  EXPECT_TRUE(store.PutIfVersion(uri, "three", v1.version).IsAlreadyExists());  // stale version
  EXPECT_EQ(store.GetVersioned(uri).ValueOrDie().bytes, "two");
  EXPECT_FALSE(store.GetVersioned(this->At("absent.bin")).ValueOrDie().exists);
}

TYPED_TEST_P(ObjectStoreContract, OfWritersRacingOnOneVersionExactlyOneWins) {
  const ObjectStore& store = this->store();
  for (const bool exists : {false, true}) {
    const ObjectUri uri = this->At(exists ? "existing.bin" : "new.bin");
    std::string expected;
    if (exists) {
      STORE_ASSERT_OK(store.Put(uri, "base"));
      STORE_ASSERT_OK_AND_ASSIGN(auto base, store.GetVersioned(uri));
      expected = base.version;
    }
    constexpr int kWriters = 6;
    std::vector<Status> results(kWriters);
    std::vector<std::thread> writers;
    for (int i = 0; i < kWriters; ++i) {
      writers.emplace_back(
          [&, i] { results[i] = store.PutIfVersion(uri, "writer-" + std::to_string(i), expected); });
    }
    for (auto& w : writers) w.join();
    int winner = -1;
    for (int i = 0; i < kWriters; ++i) {
      if (results[i].ok()) {
        EXPECT_EQ(winner, -1) << "writers " << winner << " and " << i << " both won";
        winner = i;
      } else {
        EXPECT_TRUE(results[i].IsAlreadyExists()) << results[i].ToString();
        EXPECT_THAT(results[i].message(), ::testing::HasSubstr(uri.ToString()));
      }
    }
    ASSERT_NE(winner, -1) << "no writer won";
    STORE_ASSERT_OK_AND_ASSIGN(auto stored, store.GetVersioned(uri));
    EXPECT_EQ(stored.bytes, "writer-" + std::to_string(winner)) << "the losers leave the winner's bytes";
  }
}

TYPED_TEST_P(ObjectStoreContract, VersionedGetOfAMissingObjectAndAChangedOne) {
  const ObjectStore& store = this->store();
  const ObjectUri uri = this->At("v.json");
  STORE_ASSERT_OK_AND_ASSIGN(auto missing, store.GetVersioned(uri));
  EXPECT_FALSE(missing.exists);
  EXPECT_EQ(missing.bytes, "");
  EXPECT_EQ(missing.version, "");
  STORE_ASSERT_OK(store.Put(uri, "first"));
  STORE_ASSERT_OK_AND_ASSIGN(auto first, store.GetVersioned(uri));
  EXPECT_TRUE(first.exists);
  EXPECT_EQ(first.bytes, "first");
  EXPECT_NE(first.version, "");
  STORE_ASSERT_OK(store.Put(uri, "second, longer"));
  STORE_ASSERT_OK_AND_ASSIGN(auto second, store.GetVersioned(uri));
  EXPECT_EQ(second.bytes, "second, longer");
  EXPECT_NE(second.version, first.version);
  EXPECT_TRUE(store.PutIfVersion(uri, "third", first.version).IsAlreadyExists());
  STORE_ASSERT_OK(store.PutIfVersion(uri, "third", second.version));
  STORE_ASSERT_OK_AND_ASSIGN(auto third, store.Get(uri));
  EXPECT_EQ(third, "third");
}

TYPED_TEST_P(ObjectStoreContract, ListingAPrefixShowsOnlyWhatIsDirectlyUnderIt) {
  const ObjectStore& store = this->store();
  for (const char* name : {"a/1.json", "a/2.json", "a/sub/3.json", "ab/4.json", "b.json"}) {
    STORE_ASSERT_OK(store.Put(this->At(name), name));
  }
  STORE_ASSERT_OK_AND_ASSIGN(auto top, this->List(this->backend_.root()));
  EXPECT_THAT(top, ::testing::ElementsAre("a/", "ab/", "b.json"));
  STORE_ASSERT_OK_AND_ASSIGN(auto a, this->List(this->At("a")));
  EXPECT_THAT(a, ::testing::ElementsAre("1.json", "2.json", "sub/"));
  STORE_ASSERT_OK_AND_ASSIGN(auto trailing, this->List(this->At("a/")));
  EXPECT_EQ(trailing, a);
  STORE_ASSERT_OK_AND_ASSIGN(auto sub, this->List(this->At("a/sub")));
  EXPECT_THAT(sub, ::testing::ElementsAre("3.json"));

  STORE_ASSERT_OK_AND_ASSIGN(auto prefix, store.Stat(this->At("a")));
  EXPECT_TRUE(prefix.exists);
  EXPECT_TRUE(prefix.is_directory);
  STORE_ASSERT_OK_AND_ASSIGN(auto object, store.Stat(this->At("a/1.json")));
  EXPECT_FALSE(object.is_directory);
  EXPECT_EQ(object.size, 8);

  const auto nothing = this->List(this->At("nothing"));
  EXPECT_FALSE(nothing.ok()) << "listing a prefix with nothing under it is an error, not an empty list";
}

TYPED_TEST_P(ObjectStoreContract, AMissingObjectIsNotAnErrorAMissingContainerIs) {
  const ObjectStore& store = this->store();
  const ObjectUri absent = this->At("absent.json");
  STORE_ASSERT_OK_AND_ASSIGN(auto info, store.Stat(absent));
  EXPECT_FALSE(info.exists);
  STORE_ASSERT_OK_AND_ASSIGN(auto versioned, store.GetVersioned(absent));
  EXPECT_FALSE(versioned.exists);
  STORE_ASSERT_OK(store.CheckContainer(absent));

  const ObjectUri lost = this->backend_.InMissingContainer();
  STORE_ASSERT_OK_AND_ASSIGN(auto lost_info, store.Stat(lost));
  EXPECT_FALSE(lost_info.exists);
  const Status check = store.CheckContainer(lost);
  EXPECT_TRUE(check.IsIOError()) << check.ToString();
  EXPECT_THAT(check.message(), ::testing::HasSubstr(lost.ToString()));
  EXPECT_THAT(check.message(), ::testing::HasSubstr("does not exist"));
  const Status read = store.GetVersioned(lost).status();
  EXPECT_TRUE(read.IsIOError()) << read.ToString();
  EXPECT_THAT(read.message(), ::testing::HasSubstr(lost.ToString()));
  if constexpr (TypeParam::kWritesCreateContainers) {
    STORE_ASSERT_OK(store.Put(lost, "x"));
    STORE_ASSERT_OK(store.CheckContainer(lost));
    STORE_ASSERT_OK_AND_ASSIGN(auto bytes, store.Get(lost));
    EXPECT_EQ(bytes, "x");
  } else {
    const Status put = store.Put(lost, "x");
    EXPECT_TRUE(put.IsIOError()) << put.ToString();
    EXPECT_THAT(put.message(), ::testing::HasSubstr(lost.ToString()));
    const Status conditional = store.PutIfVersion(lost, "x", "");
    EXPECT_TRUE(conditional.IsIOError()) << conditional.ToString();
    EXPECT_THAT(conditional.message(), ::testing::HasSubstr(lost.ToString()));
  }
}

TYPED_TEST_P(ObjectStoreContract, DeniedAccessIsAnErrorNamingTheObjectNotAMissingObject) {
  STORE_ASSERT_OK_AND_ASSIGN(DeniedObject denied, this->backend_.Denied());
  if (!denied.skip_reason.empty()) GTEST_SKIP() << denied.skip_reason;
  const ObjectStore& store = *denied.store;
  const std::string name = denied.object.ToString();
  const auto expect_denied = [&](const Status& st, const char* operation) {
    EXPECT_TRUE(st.IsIOError()) << operation << ": " << st.ToString();
    EXPECT_THAT(st.message(), ::testing::HasSubstr(name)) << operation;
  };
  expect_denied(store.Stat(denied.object).status(), "Stat");
  expect_denied(store.Get(denied.object).status(), "Get");
  expect_denied(store.GetVersioned(denied.object).status(), "GetVersioned");
  expect_denied(store.Put(denied.object, "overwritten"), "Put");
  expect_denied(store.PutIfVersion(denied.object, "overwritten", ""), "PutIfVersion");
  this->backend_.Allow();
  STORE_ASSERT_OK_AND_ASSIGN(auto bytes, this->store().Get(denied.object));
  EXPECT_EQ(bytes, denied.bytes) << "a denied write changes nothing";
}

TYPED_TEST_P(ObjectStoreContract, DeleteRemovesTheObjectOnly) {
  const ObjectStore& store = this->store();
  STORE_ASSERT_OK(store.Put(this->At("d/gone.json"), "1"));
  STORE_ASSERT_OK(store.Put(this->At("d/kept.json"), "2"));
  STORE_ASSERT_OK(store.Delete(this->At("d/gone.json")));
  STORE_ASSERT_OK_AND_ASSIGN(auto gone, store.Stat(this->At("d/gone.json")));
  EXPECT_FALSE(gone.exists);
  STORE_ASSERT_OK_AND_ASSIGN(auto kept, store.Get(this->At("d/kept.json")));
  EXPECT_EQ(kept, "2");
  const Status again = store.Delete(this->At("d/gone.json"));
  EXPECT_TRUE(again.IsIOError()) << again.ToString();
  EXPECT_THAT(again.message(), ::testing::HasSubstr(this->At("d/gone.json").ToString()));
}

REGISTER_TYPED_TEST_SUITE_P(
    ObjectStoreContract, PutGetStatDelete, EmptyAndBinaryObjectsRoundTrip, WriteCreatesMissingDirectories,
    UncommittedWriteLeavesNothing, ACommitPublishesTheWholeObjectAtOnce,
    AReaderSeesTheWholeOldOrTheWholeNewObject, AConditionalWriteLosesToAConcurrentWriter,
    OfWritersRacingOnOneVersionExactlyOneWins, VersionedGetOfAMissingObjectAndAChangedOne,
    ListingAPrefixShowsOnlyWhatIsDirectlyUnderIt, AMissingObjectIsNotAnErrorAMissingContainerIs,
    DeniedAccessIsAnErrorNamingTheObjectNotAMissingObject, DeleteRemovesTheObjectOnly);

}  // namespace pfad::storage

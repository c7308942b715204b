// Test helper: a fresh local directory and an ObjectStore over it, per test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "pfad/storage/object_store.h"

namespace pfad::storage {

class LocalStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pfad-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = ObjectStore::Open(Uri("x"), StorageConfig{}).ValueOrDie();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  [[nodiscard]] ObjectUri Uri(const std::string& name) const {
    return ObjectUri::Parse((dir_ / name).string()).ValueOrDie();
  }

  std::filesystem::path dir_;
  std::shared_ptr<ObjectStore> store_;
};

}  // namespace pfad::storage

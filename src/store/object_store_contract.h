// The behaviour every ObjectStore backend must have, as one parameterized
// GoogleTest suite. A backend joins by adding a factory to the
// INSTANTIATE_TEST_SUITE_P list in object_store_test.cc:
//
//   INSTANTIATE_TEST_SUITE_P(Backends, ObjectStoreContractTest,
//                            ::testing::Values(ObjectStoreBackend{"Memory", &MakeMemory}),
//                            ObjectStoreBackendName);
//
// Include it from exactly one .cc file per test binary (it defines tests).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/byte_source.h"
#include "common/error.h"
#include "store/object_store.h"
#include "store/object_store_test_support.h"

namespace citybooks::store_contract {

// A fresh, empty store for one test, and what it needs kept alive.
struct StoreUnderTest {
  std::unique_ptr<ObjectStore> store;
  // Runs after `store` is destroyed: removes a temporary folder, frees a
  // wrapped base store. May be empty.
  std::function<void()> cleanup;
};

struct ObjectStoreBackend {
  const char* name;  // a GoogleTest name: letters and digits only
  StoreUnderTest (*make)();
};

inline std::string ObjectStoreBackendName(
    const ::testing::TestParamInfo<ObjectStoreBackend>& info) {
  return info.param.name;
}

class ObjectStoreContractTest : public ::testing::TestWithParam<ObjectStoreBackend> {
 protected:
  void SetUp() override {
    under_test_ = GetParam().make();
    ASSERT_NE(under_test_.store, nullptr);
  }

  void TearDown() override {
    under_test_.store.reset();
    if (under_test_.cleanup) under_test_.cleanup();
    under_test_.cleanup = nullptr;
  }

  ObjectStore& store() { return *under_test_.store; }

  std::vector<std::string> ListKeys(std::string_view prefix) {
    Result<std::vector<ObjectInfo>> listed = store().List(prefix);
    EXPECT_TRUE(listed.has_value()) << listed.error().message();
    std::vector<std::string> keys;
    if (listed) {
      for (const ObjectInfo& info : *listed) keys.push_back(info.key);
    }
    return keys;
  }

  bool Exists(std::string_view key) {
    Result<bool> exists = store().Exists(key);
    EXPECT_TRUE(exists.has_value()) << exists.error().message();
    return exists.value_or(false);
  }

  void ExpectObject(std::string_view key, const std::string& expected) {
    Result<std::string> got = store().GetBytes(key);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(got->size(), expected.size());
    EXPECT_TRUE(*got == expected) << "contents of '" << key << "' differ";
  }

 private:
  StoreUnderTest under_test_;
};

using Keys = std::vector<std::string>;

TEST_P(ObjectStoreContractTest, PutThenGetReturnsTheSameBytes) {
  ASSERT_TRUE(store().PutBytes("hello.txt", "hello, world\n"));
  ExpectObject("hello.txt", "hello, world\n");
}

TEST_P(ObjectStoreContractTest, EmptyObjectRoundTrips) {
  ASSERT_TRUE(store().PutBytes("empty", ""));
  ExpectObject("empty", "");
  EXPECT_EQ(ListKeys(""), Keys{"empty"});
  Result<std::vector<ObjectInfo>> listed = store().List("");
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->at(0).size, 0u);
}

TEST_P(ObjectStoreContractTest, ThreeMegabyteObjectStreamsInShortReads) {
  const std::string bytes = PatternBytes(3 * 1024 * 1024 + 17);
  ChunkedSource source(bytes);
  ASSERT_TRUE(store().Put("big/object.bin", source));
  ExpectObject("big/object.bin", bytes);
  Result<std::vector<ObjectInfo>> listed = store().List("big/");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).size, bytes.size());
}

TEST_P(ObjectStoreContractTest, GetReadsInCallerSizedPieces) {
  const std::string bytes = PatternBytes(100000, 7);
  ASSERT_TRUE(store().PutBytes("pieces", bytes));
  Result<std::unique_ptr<ByteSource>> source = store().Get("pieces");
  ASSERT_TRUE(source.has_value()) << source.error().message();
  std::string read;
  char buffer[333];
  while (true) {
    Result<size_t> n = (*source)->Read(buffer, sizeof buffer);
    ASSERT_TRUE(n.has_value()) << n.error().message();
    ASSERT_LE(*n, sizeof buffer);
    if (*n == 0) break;
    read.append(buffer, *n);
  }
  EXPECT_TRUE(read == bytes);
}

TEST_P(ObjectStoreContractTest, PutReplacesAnExistingObject) {
  ASSERT_TRUE(store().PutBytes("a/key", "a first value that is longer"));
  ASSERT_TRUE(store().PutBytes("a/key", "second"));
  ExpectObject("a/key", "second");
  EXPECT_EQ(ListKeys(""), Keys{"a/key"});
}

TEST_P(ObjectStoreContractTest, GetOfMissingKeyIsNotFound) {
  Result<std::unique_ptr<ByteSource>> got = store().Get("no/such/key");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(got.error().message().find("no/such/key"), std::string::npos) << got.error().message();
  EXPECT_FALSE(Exists("no/such/key"));
}

TEST_P(ObjectStoreContractTest, ExistsSeesStoredObjectsOnly) {
  ASSERT_TRUE(store().PutBytes("dir/file", "x"));
  EXPECT_TRUE(Exists("dir/file"));
  // "dir" is only a prefix of a key, not an object.
  EXPECT_FALSE(Exists("dir"));
  Result<std::unique_ptr<ByteSource>> got = store().Get("dir");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
}

TEST_P(ObjectStoreContractTest, ListReturnsKeysWithPrefixSortedWithSizes) {
  ASSERT_TRUE(store().PutBytes("b/2", "22"));
  ASSERT_TRUE(store().PutBytes("a/3", "333"));
  ASSERT_TRUE(store().PutBytes("b/1", "1"));
  ASSERT_TRUE(store().PutBytes("a/1", ""));
  ASSERT_TRUE(store().PutBytes("c", "cccc"));
  EXPECT_EQ(ListKeys(""), (Keys{"a/1", "a/3", "b/1", "b/2", "c"}));
  EXPECT_EQ(ListKeys("b/"), (Keys{"b/1", "b/2"}));
  Result<std::vector<ObjectInfo>> listed = store().List("a/");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ(listed->at(0).key, "a/1");
  EXPECT_EQ(listed->at(0).size, 0u);
  EXPECT_EQ(listed->at(1).key, "a/3");
  EXPECT_EQ(listed->at(1).size, 3u);
}

TEST_P(ObjectStoreContractTest, ListPrefixNeedNotEndAtASlash) {
  ASSERT_TRUE(store().PutBytes("sf/a.csv", "1"));
  ASSERT_TRUE(store().PutBytes("sf-other/b.csv", "2"));
  ASSERT_TRUE(store().PutBytes("sf/ab/c.csv", "3"));
  ASSERT_TRUE(store().PutBytes("sf/b.csv", "4"));
  EXPECT_EQ(ListKeys("sf"), (Keys{"sf-other/b.csv", "sf/a.csv", "sf/ab/c.csv", "sf/b.csv"}));
  EXPECT_EQ(ListKeys("sf/"), (Keys{"sf/a.csv", "sf/ab/c.csv", "sf/b.csv"}));
  EXPECT_EQ(ListKeys("sf/a"), (Keys{"sf/a.csv", "sf/ab/c.csv"}));
  EXPECT_EQ(ListKeys("sf/ab/c.csv"), (Keys{"sf/ab/c.csv"}));
}

TEST_P(ObjectStoreContractTest, ListOfUnknownPrefixIsEmpty) {
  EXPECT_EQ(ListKeys(""), Keys{});
  ASSERT_TRUE(store().PutBytes("x/y", "1"));
  EXPECT_EQ(ListKeys("nothing/here/"), Keys{});
  EXPECT_EQ(ListKeys("x/y/"), Keys{});
  EXPECT_EQ(ListKeys("z"), Keys{});
}

TEST_P(ObjectStoreContractTest, NestedPrefixesListAtEveryDepth) {
  ASSERT_TRUE(store().PutBytes("d/2026-01-01/s1/a.csv", "a"));
  ASSERT_TRUE(store().PutBytes("d/2026-01-01/s1/manifest.json", "{}"));
  ASSERT_TRUE(store().PutBytes("d/2026-01-01/s2/a.csv", "a"));
  ASSERT_TRUE(store().PutBytes("d/2026-01-02/s3/a.csv", "a"));
  ASSERT_TRUE(store().PutBytes("d/top", "t"));
  EXPECT_EQ(ListKeys("d/").size(), 5u);
  EXPECT_EQ(
      ListKeys("d/2026-01-01/"),
      (Keys{"d/2026-01-01/s1/a.csv", "d/2026-01-01/s1/manifest.json", "d/2026-01-01/s2/a.csv"}));
  EXPECT_EQ(ListKeys("d/2026-01-01/s1/"),
            (Keys{"d/2026-01-01/s1/a.csv", "d/2026-01-01/s1/manifest.json"}));
  EXPECT_EQ(ListKeys("d/2026-01-0"), (Keys{"d/2026-01-01/s1/a.csv", "d/2026-01-01/s1/manifest.json",
                                           "d/2026-01-01/s2/a.csv", "d/2026-01-02/s3/a.csv"}));
}

TEST_P(ObjectStoreContractTest, FailedPutLeavesNoObject) {
  ChunkedSource source(PatternBytes(50000), 1000, /*fail_at=*/20000);
  Status put = store().Put("half/written.bin", source);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), ErrorCode::kIoError);
  EXPECT_EQ(ListKeys(""), Keys{});
  EXPECT_FALSE(Exists("half/written.bin"));
}

TEST_P(ObjectStoreContractTest, FailedPutKeepsThePreviousObject) {
  ASSERT_TRUE(store().PutBytes("k", "old value"));
  ChunkedSource source(PatternBytes(50000), 1000, /*fail_at=*/20000);
  ASSERT_FALSE(store().Put("k", source).has_value());
  ExpectObject("k", "old value");
  EXPECT_EQ(ListKeys(""), Keys{"k"});
}

TEST_P(ObjectStoreContractTest, PutInProgressIsNotListedNorReadable) {
  ASSERT_TRUE(store().PutBytes("k", "old"));
  ChunkedSource source(PatternBytes(40000), 4000);
  int checks = 0;
  source.on_read = [&](uint64_t read_so_far) {
    if (read_so_far == 0 || read_so_far >= 40000) return;
    ++checks;
    EXPECT_EQ(ListKeys(""), Keys{"k"}) << "after " << read_so_far << " bytes";
    EXPECT_FALSE(Exists("new"));
    Result<std::string> old = store().GetBytes("k");
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(*old, "old");
  };
  ASSERT_TRUE(store().Put("new", source));
  EXPECT_GT(checks, 0);
  EXPECT_EQ(ListKeys(""), (Keys{"k", "new"}));
}

TEST_P(ObjectStoreContractTest, DeleteRemovesOnlyThatKeyAndIsIdempotent) {
  ASSERT_TRUE(store().PutBytes("a/1", "1"));
  ASSERT_TRUE(store().PutBytes("a/2", "2"));
  ASSERT_TRUE(store().Delete("a/1"));
  EXPECT_EQ(ListKeys(""), Keys{"a/2"});
  ASSERT_TRUE(store().Delete("a/1"));
  ASSERT_TRUE(store().Delete("never/existed"));
  ASSERT_TRUE(store().Delete("a/2"));
  EXPECT_EQ(ListKeys(""), Keys{});
  // The key can be written again after a delete.
  ASSERT_TRUE(store().PutBytes("a/1", "again"));
  ExpectObject("a/1", "again");
}

TEST_P(ObjectStoreContractTest, OpenedReaderSurvivesDeleteOfItsObject) {
  const std::string bytes = PatternBytes(10000, 3);
  ASSERT_TRUE(store().PutBytes("gone", bytes));
  Result<std::unique_ptr<ByteSource>> source = store().Get("gone");
  ASSERT_TRUE(source.has_value());
  ASSERT_TRUE(store().Delete("gone"));
  std::string read(bytes.size() + 1, '\0');
  size_t total = 0;
  while (true) {
    Result<size_t> n = (*source)->Read(read.data() + total, read.size() - total);
    ASSERT_TRUE(n.has_value());
    if (*n == 0) break;
    total += *n;
  }
  read.resize(total);
  EXPECT_TRUE(read == bytes);
}

TEST_P(ObjectStoreContractTest, KeysWithSpacesAndUnicodeRoundTrip) {
  const std::vector<std::string> keys = {"with space/file name.csv",
                                         "unicode/caf\xC3\xA9 \xE2\x82\xAC.csv",
                                         "unicode/\xE6\x97\xA5\xE6\x9C\xAC/\xF0\x9F\x93\x8A.txt",
                                         "punct/a+b=c&d(e)'f'.txt", ".hidden/.file"};
  for (const std::string& key : keys) {
    ASSERT_TRUE(store().PutBytes(key, "value of " + key)) << key;
  }
  for (const std::string& key : keys) ExpectObject(key, "value of " + key);
  Keys sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(ListKeys(""), sorted);
  EXPECT_EQ(ListKeys("unicode/caf\xC3\xA9"), Keys{"unicode/caf\xC3\xA9 \xE2\x82\xAC.csv"});
}

TEST_P(ObjectStoreContractTest, InvalidKeysAreRejected) {
  const std::vector<std::string> bad = {
      "",    "/abs/key", "a//b",      "a/",     "a/../b",       "..",
      "./a", "a/./b",    "trailing/", ".tmp-x", "a/.tmp-123-b", std::string("nul\0byte", 8)};
  for (const std::string& key : bad) {
    Status put = store().PutBytes(key, "x");
    ASSERT_FALSE(put.has_value()) << "'" << key << "'";
    EXPECT_EQ(put.error().code(), ErrorCode::kInvalidArgument) << "'" << key << "'";
    Result<std::unique_ptr<ByteSource>> got = store().Get(key);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code(), ErrorCode::kInvalidArgument) << "'" << key << "'";
    Status deleted = store().Delete(key);
    ASSERT_FALSE(deleted.has_value());
    EXPECT_EQ(deleted.error().code(), ErrorCode::kInvalidArgument) << "'" << key << "'";
  }
  Result<std::vector<ObjectInfo>> listed = store().List("../");
  ASSERT_FALSE(listed.has_value());
  EXPECT_EQ(listed.error().code(), ErrorCode::kInvalidArgument);
  listed = store().List("/");
  ASSERT_FALSE(listed.has_value());
  EXPECT_EQ(listed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ListKeys(""), Keys{});
}

TEST_P(ObjectStoreContractTest, InvalidKeyMessageNamesTheKey) {
  Status put = store().PutBytes("a/../b", "x");
  ASSERT_FALSE(put.has_value());
  EXPECT_NE(put.error().message().find("'a/../b'"), std::string::npos) << put.error().message();
}

TEST_P(ObjectStoreContractTest, ConcurrentPutsToOneKeyLeaveOneWholeValue) {
  constexpr int kWriters = 4;
  std::vector<std::string> values;
  for (int i = 0; i < kWriters; ++i) values.push_back(PatternBytes(200000, i + 10));
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([this, &values, i] {
      for (int round = 0; round < 3; ++round) {
        ChunkedSource source(values[i], 10000);
        EXPECT_TRUE(store().Put("shared/key", source));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  Result<std::string> got = store().GetBytes("shared/key");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(std::find(values.begin(), values.end(), *got) != values.end());
  EXPECT_EQ(ListKeys(""), Keys{"shared/key"});
}

TEST_P(ObjectStoreContractTest, UrlIsNotEmpty) { EXPECT_FALSE(store().url().empty()); }

TEST_P(ObjectStoreContractTest, CreateRootIsIdempotent) {
  // A fresh store's root may or may not exist yet; after one call it does.
  Result<bool> first = store().CreateRoot();
  ASSERT_TRUE(first.has_value()) << first.error().message();
  Result<bool> second = store().CreateRoot();
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_FALSE(*second);
  ASSERT_TRUE(store().PutBytes("a/b", "x"));
  Result<bool> third = store().CreateRoot();
  ASSERT_TRUE(third.has_value());
  EXPECT_FALSE(*third);
  ExpectObject("a/b", "x");
  EXPECT_FALSE(store().RootDescription().empty());
}

TEST_P(ObjectStoreContractTest, RemoveRootIfEmptyKeepsARootWithObjects) {
  ASSERT_TRUE(store().CreateRoot().has_value());
  ASSERT_TRUE(store().PutBytes("keep/me", "1"));
  Result<bool> removed = store().RemoveRootIfEmpty();
  ASSERT_TRUE(removed.has_value()) << removed.error().message();
  EXPECT_FALSE(*removed);
  ExpectObject("keep/me", "1");
  EXPECT_EQ(ListKeys(""), Keys{"keep/me"});
}

TEST_P(ObjectStoreContractTest, RemoveRootIfEmptyRemovesAnEmptyRootOnce) {
  ASSERT_TRUE(store().CreateRoot().has_value());
  ASSERT_TRUE(store().PutBytes("gone/soon", "1"));
  ASSERT_TRUE(store().Delete("gone/soon"));
  Result<bool> removed = store().RemoveRootIfEmpty();
  ASSERT_TRUE(removed.has_value()) << removed.error().message();
  EXPECT_TRUE(*removed);
  Result<bool> again = store().RemoveRootIfEmpty();
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_FALSE(*again);
  // The root can be made again and used as before.
  Result<bool> created = store().CreateRoot();
  ASSERT_TRUE(created.has_value()) << created.error().message();
  EXPECT_TRUE(*created);
  EXPECT_EQ(ListKeys(""), Keys{});
  ASSERT_TRUE(store().PutBytes("back/again", "2"));
  ExpectObject("back/again", "2");
}

}  // namespace citybooks::store_contract

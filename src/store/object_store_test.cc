#include "store/object_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "s3/s3_server.h"
#include "store/internal/store_internal.h"
#include "store/object_store_contract.h"

namespace citybooks {
namespace {

namespace fs = std::filesystem;
using store_contract::ChunkedSource;
using store_contract::ObjectStoreBackend;
using store_contract::ObjectStoreBackendName;
using store_contract::ObjectStoreContractTest;
using store_contract::PatternBytes;
using store_contract::StoreUnderTest;

// Makes a new empty folder under the system's temporary folder.
std::string MakeTemporaryFolder() {
  std::string pattern = (fs::temp_directory_path() / "citybooks-store-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr) << "mkdtemp failed for " << pattern;
  return pattern;
}

// Every file below `folder`, as paths relative to it (temporary files too).
std::vector<std::string> FilesOnDisk(const std::string& folder) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), folder).string());
  }
  return files;
}

constexpr uint64_t kHugeBudget = UINT64_MAX;

StoreUnderTest MakeLocal() {
  std::string folder = MakeTemporaryFolder();
  Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(folder);
  EXPECT_TRUE(store.has_value()) << store.error().message();
  return {std::move(store).value(), [folder] { fs::remove_all(folder); }};
}

StoreUnderTest MakeMemory() { return {NewMemoryObjectStore(), nullptr}; }

StoreUnderTest MakeFaultyOverMemory() {
  std::shared_ptr<ObjectStore> base = NewMemoryObjectStore();
  return {NewFaultyObjectStore(base.get(), kHugeBudget), [base] {}};
}

StoreUnderTest MakeFaultyOverLocal() {
  StoreUnderTest local = MakeLocal();
  std::shared_ptr<ObjectStore> base = std::move(local.store);
  auto remove_folder = local.cleanup;
  return {NewFaultyObjectStore(base.get(), kHugeBudget), [base, remove_folder]() mutable {
            base.reset();
            remove_folder();
          }};
}

// A store on a new bucket of the shared s3rver; the test fails (with what to
// install) when the server cannot start.
StoreUnderTest MakeS3At(const std::string& prefix, int list_page_size) {
  auto server = s3test::SharedS3Server();
  if (!server) {
    ADD_FAILURE() << server.error();
    return {};
  }
  static int buckets = 0;
  std::string url = "s3://contract-" + std::to_string(++buckets) + prefix;
  ObjectStoreOptions options;
  options.endpoint = (*server)->endpoint();
  options.access_key_id = s3test::S3Server::kAccessKeyId;
  options.secret_access_key = s3test::S3Server::kSecretAccessKey;
  Result<std::unique_ptr<ObjectStore>> store =
      store_internal::OpenS3ObjectStore(url, options, list_page_size);
  if (!store) {
    ADD_FAILURE() << store.error().message();
    return {};
  }
  Result<bool> created = (*store)->CreateRoot();
  EXPECT_TRUE(created.has_value() && *created) << (created ? "" : created.error().message());
  return {std::move(store).value(), nullptr};
}

// Keys under a prefix, listed two to a page so every listing pages.
StoreUnderTest MakeS3() { return MakeS3At("/raw/zone", 2); }
// Keys at the top of the bucket, listed a thousand to a page.
StoreUnderTest MakeS3BucketRoot() { return MakeS3At("", 1000); }

INSTANTIATE_TEST_SUITE_P(
    Backends, ObjectStoreContractTest,
    ::testing::Values(ObjectStoreBackend{"Local", &MakeLocal},
                      ObjectStoreBackend{"Memory", &MakeMemory},
                      ObjectStoreBackend{"FaultyOverMemory", &MakeFaultyOverMemory},
                      ObjectStoreBackend{"FaultyOverLocal", &MakeFaultyOverLocal},
                      ObjectStoreBackend{"S3", &MakeS3},
                      ObjectStoreBackend{"S3BucketRoot", &MakeS3BucketRoot}),
    ObjectStoreBackendName);

// --- The faulty wrapper -----------------------------------------------------

class FaultyObjectStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      folder_ = MakeTemporaryFolder();
      Result<std::unique_ptr<ObjectStore>> local = OpenLocalObjectStore(folder_);
      ASSERT_TRUE(local.has_value()) << local.error().message();
      base_ = std::move(local).value();
    } else {
      base_ = NewMemoryObjectStore();
    }
  }
  void TearDown() override {
    base_.reset();
    if (!folder_.empty()) fs::remove_all(folder_);
  }

  std::vector<std::string> BaseKeys() {
    Result<std::vector<ObjectInfo>> listed = base_->List("");
    EXPECT_TRUE(listed.has_value());
    std::vector<std::string> keys;
    for (const ObjectInfo& info : listed.value_or(std::vector<ObjectInfo>{})) {
      keys.push_back(info.key);
    }
    return keys;
  }

  std::string folder_;  // empty for the memory base
  std::unique_ptr<ObjectStore> base_;
};

INSTANTIATE_TEST_SUITE_P(Bases, FaultyObjectStoreTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Local" : "Memory";
                         });

TEST_P(FaultyObjectStoreTest, PutFailingPartWayLeavesNoObject) {
  std::unique_ptr<ObjectStore> faulty = NewFaultyObjectStore(base_.get(), 1000);
  ChunkedSource source(PatternBytes(5000), 300);
  Status put = faulty->Put("ds/day/file.csv", source);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), ErrorCode::kIoError);
  EXPECT_NE(put.error().message().find("ds/day/file.csv"), std::string::npos)
      << put.error().message();
  Result<std::vector<ObjectInfo>> listed = faulty->List("");
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->empty());
  EXPECT_TRUE(BaseKeys().empty());
  Result<std::unique_ptr<ByteSource>> got = faulty->Get("ds/day/file.csv");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
  // Like a crash, not even the temporary file is left on disk.
  if (!folder_.empty()) {
    EXPECT_TRUE(FilesOnDisk(folder_).empty());
  }
}

TEST_P(FaultyObjectStoreTest, PutsWithinTheBudgetSucceed) {
  std::unique_ptr<ObjectStore> faulty = NewFaultyObjectStore(base_.get(), 1000);
  ASSERT_TRUE(faulty->PutBytes("a", std::string(400, 'a')));
  ASSERT_TRUE(faulty->PutBytes("b", std::string(400, 'b')));
  // 800 of 1000 bytes are spent: a 300-byte Put crosses the limit.
  Status put = faulty->PutBytes("c", std::string(300, 'c'));
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), ErrorCode::kIoError);
  EXPECT_EQ(BaseKeys(), (std::vector<std::string>{"a", "b"}));
}

TEST_P(FaultyObjectStoreTest, EveryPutFailsOnceTheBudgetIsSpent) {
  std::unique_ptr<ObjectStore> faulty = NewFaultyObjectStore(base_.get(), 10);
  ASSERT_FALSE(faulty->PutBytes("a", std::string(20, 'a')).has_value());
  ASSERT_FALSE(faulty->PutBytes("b", "x").has_value());
  ASSERT_FALSE(faulty->PutBytes("empty", "").has_value());
  EXPECT_TRUE(BaseKeys().empty());
}

TEST_P(FaultyObjectStoreTest, FailedPutKeepsThePreviousObject) {
  ASSERT_TRUE(base_->PutBytes("k", "old"));
  std::unique_ptr<ObjectStore> faulty = NewFaultyObjectStore(base_.get(), 100);
  ASSERT_FALSE(faulty->PutBytes("k", std::string(1000, 'n')).has_value());
  Result<std::string> got = faulty->GetBytes("k");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "old");
}

TEST_P(FaultyObjectStoreTest, ReadsListsAndDeletesPassThroughAfterFaults) {
  ASSERT_TRUE(base_->PutBytes("x/1", "one"));
  std::unique_ptr<ObjectStore> faulty = NewFaultyObjectStore(base_.get(), 0);
  ASSERT_FALSE(faulty->PutBytes("x/2", "two").has_value());
  Result<std::string> got = faulty->GetBytes("x/1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "one");
  Result<std::vector<ObjectInfo>> listed = faulty->List("x/");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  ASSERT_TRUE(faulty->Delete("x/1"));
  EXPECT_TRUE(BaseKeys().empty());
}

// --- The local folder backend -----------------------------------------------

class LocalObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { folder_ = MakeTemporaryFolder(); }
  void TearDown() override { fs::remove_all(folder_); }
  std::string folder_;
};

TEST_F(LocalObjectStoreTest, KeysAreFilesUnderTheRoot) {
  Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(folder_ + "/new/root");
  ASSERT_TRUE(store.has_value()) << store.error().message();
  ASSERT_TRUE((*store)->PutBytes("a/b/c.txt", "abc"));
  EXPECT_TRUE(fs::is_regular_file(folder_ + "/new/root/a/b/c.txt"));
  EXPECT_EQ(fs::file_size(folder_ + "/new/root/a/b/c.txt"), 3u);
  EXPECT_EQ(FilesOnDisk(folder_), (std::vector<std::string>{"new/root/a/b/c.txt"}));
}

// Large objects go to and from the disk with O_DIRECT (whole aligned blocks)
// and their unaligned tail through the page cache; every size and every
// pattern of source chunks and reads must still round-trip byte for byte, on
// the disk's file system and on tmpfs (which may refuse direct I/O).
TEST_F(LocalObjectStoreTest, LargeObjectsRoundTripWhateverTheirSizeAndChunking) {
  std::vector<std::string> roots = {folder_ + "/disk"};
  if (fs::is_directory("/dev/shm")) {
    roots.push_back("/dev/shm/citybooks-store-test-" + std::to_string(::getpid()));
  }
  for (const std::string& root : roots) {
    Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(root);
    ASSERT_TRUE(store.has_value()) << store.error().message();
    const size_t mib = size_t{1} << 20;
    for (size_t size : {mib - 1, mib, mib + 1, 3 * mib + 4095, 5 * mib}) {
      for (size_t chunk : {size_t{4096}, size_t{7919}, 2 * mib}) {
        SCOPED_TRACE(root + ": " + std::to_string(size) + " bytes in chunks of " +
                     std::to_string(chunk));
        const std::string bytes = PatternBytes(size);
        ChunkedSource source(bytes, chunk);
        ASSERT_TRUE((*store)->Put("big/object", source));
        EXPECT_EQ(fs::file_size(root + "/big/object"), size);
        Result<std::unique_ptr<ByteSource>> read = (*store)->Get("big/object");
        ASSERT_TRUE(read.has_value()) << read.error().message();
        std::string back;
        std::string buffer(chunk == 2 * mib ? 1000 : 65536 + 3, '\0');
        while (true) {
          Result<size_t> n = (*read)->Read(buffer.data(), buffer.size());
          ASSERT_TRUE(n.has_value()) << n.error().message();
          if (*n == 0) break;
          back.append(buffer.data(), *n);
        }
        ASSERT_EQ(back.size(), bytes.size());
        EXPECT_TRUE(back == bytes);
      }
    }
    fs::remove_all(root);
  }
}

TEST_F(LocalObjectStoreTest, OpeningCreatesNothingUntilTheFirstPut) {
  const std::string root = folder_ + "/not/yet";
  Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(root);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  EXPECT_FALSE(fs::exists(root));
  Result<std::vector<ObjectInfo>> listed = (*store)->List("");
  ASSERT_TRUE(listed.has_value()) << listed.error().message();
  EXPECT_TRUE(listed->empty());
  Result<std::unique_ptr<ByteSource>> got = (*store)->Get("k");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE((*store)->Delete("k"));
  EXPECT_FALSE(fs::exists(root));
  ASSERT_TRUE((*store)->PutBytes("k", "v"));
  EXPECT_TRUE(fs::is_regular_file(root + "/k"));
}

TEST_F(LocalObjectStoreTest, CreateRootAndRemoveRootIfEmptyManageTheFolder) {
  const std::string root = folder_ + "/raw";
  Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(root);
  ASSERT_TRUE(store.has_value());
  EXPECT_EQ((*store)->RootDescription(), "folder '" + root + "'");
  Result<bool> created = (*store)->CreateRoot();
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE(*created);
  EXPECT_TRUE(fs::is_directory(root));
  // Leftovers of a crashed Put and empty folders do not keep the root.
  fs::create_directories(root + "/a/b");
  { std::ofstream(root + "/a/.tmp-0123456789abcdef-x.csv") << "half"; }
  Result<bool> removed = (*store)->RemoveRootIfEmpty();
  ASSERT_TRUE(removed.has_value()) << removed.error().message();
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(fs::exists(root));
  EXPECT_TRUE(fs::is_directory(folder_));
}

TEST_F(LocalObjectStoreTest, ListHidesTemporaryFiles) {
  Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(folder_);
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->PutBytes("d/real.csv", "1"));
  // What a crash in the middle of a Put leaves behind.
  { std::ofstream(folder_ + "/d/.tmp-0123456789abcdef-partial.csv") << "half"; }
  Result<std::vector<ObjectInfo>> listed = (*store)->List("");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).key, "d/real.csv");
}

TEST_F(LocalObjectStoreTest, DeleteRemovesFoldersLeftEmpty) {
  Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(folder_);
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->PutBytes("a/b/c/1", "1"));
  ASSERT_TRUE((*store)->PutBytes("a/2", "2"));
  ASSERT_TRUE((*store)->Delete("a/b/c/1"));
  EXPECT_FALSE(fs::exists(folder_ + "/a/b"));
  EXPECT_TRUE(fs::exists(folder_ + "/a/2"));
  ASSERT_TRUE((*store)->Delete("a/2"));
  EXPECT_FALSE(fs::exists(folder_ + "/a"));
  EXPECT_TRUE(fs::is_directory(folder_));
}

TEST_F(LocalObjectStoreTest, IoErrorsNameThePathAndTheCause) {
  Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(folder_);
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->PutBytes("file", "x"));
  // "file" is an object, so it cannot also be a folder of keys.
  Status put = (*store)->PutBytes("file/child", "y");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), ErrorCode::kIoError);
  EXPECT_NE(put.error().message().find(folder_ + "/file"), std::string::npos)
      << put.error().message();

  ASSERT_TRUE((*store)->PutBytes("folder/child", "y"));
  put = (*store)->PutBytes("folder", "z");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), ErrorCode::kIoError);
  EXPECT_NE(put.error().message().find(folder_ + "/folder"), std::string::npos)
      << put.error().message();
  EXPECT_NE(put.error().message().find("directory"), std::string::npos) << put.error().message();
  EXPECT_EQ(FilesOnDisk(folder_), (std::vector<std::string>{"file", "folder/child"}));
}

TEST_F(LocalObjectStoreTest, RootThatIsAFileIsRejected) {
  { std::ofstream(folder_ + "/plain") << "x"; }
  Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(folder_ + "/plain");
  ASSERT_FALSE(store.has_value());
  EXPECT_NE(store.error().message().find(folder_ + "/plain"), std::string::npos)
      << store.error().message();
}

// --- Choosing a backend from a URL ------------------------------------------

TEST(OpenObjectStore, FileUrlWithAbsolutePathOpensThatFolder) {
  std::string folder = MakeTemporaryFolder();
  Result<std::unique_ptr<ObjectStore>> store = OpenObjectStore("file://" + folder + "/raw");
  ASSERT_TRUE(store.has_value()) << store.error().message();
  EXPECT_EQ((*store)->url(), "file://" + folder + "/raw");
  ASSERT_TRUE((*store)->PutBytes("k", "v"));
  EXPECT_TRUE(fs::is_regular_file(folder + "/raw/k"));
  fs::remove_all(folder);
}

TEST(OpenObjectStore, PlainPathOpensALocalFolder) {
  std::string folder = MakeTemporaryFolder();
  Result<std::unique_ptr<ObjectStore>> store = OpenObjectStore(folder);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  ASSERT_TRUE((*store)->PutBytes("k", "v"));
  EXPECT_TRUE(fs::is_regular_file(folder + "/k"));
  fs::remove_all(folder);
}

TEST(OpenObjectStore, RelativeFileUrlsResolveAgainstTheWorkingFolder) {
  const std::string name = "citybooks-store-test-" + std::to_string(::getpid());
  for (const std::string& url : {"file://./" + name, "file://" + name}) {
    Result<std::unique_ptr<ObjectStore>> store = OpenObjectStore(url);
    ASSERT_TRUE(store.has_value()) << url << ": " << store.error().message();
    ASSERT_TRUE((*store)->PutBytes("k", url));
    std::ifstream in(fs::current_path() / name / "k");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, url);
    fs::remove_all(fs::current_path() / name);
  }
}

TEST(OpenObjectStore, MemoryStoresWithOneNameShareObjects) {
  Result<std::unique_ptr<ObjectStore>> first = OpenObjectStore("memory://shared-by-name");
  Result<std::unique_ptr<ObjectStore>> second = OpenObjectStore("memory://shared-by-name");
  Result<std::unique_ptr<ObjectStore>> other = OpenObjectStore("memory://another-name");
  ASSERT_TRUE(first.has_value() && second.has_value() && other.has_value());
  ASSERT_TRUE((*first)->PutBytes("k", "v"));
  Result<std::string> got = (*second)->GetBytes("k");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "v");
  EXPECT_EQ((*second)->url(), "memory://shared-by-name");
  Result<std::vector<ObjectInfo>> listed = (*other)->List("");
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->empty());
}

TEST(OpenObjectStore, S3UrlOpensWithoutARequest) {
  // Nothing listens on the endpoint: opening must not need it.
  ObjectStoreOptions options;
  options.endpoint = "http://127.0.0.1:9";
  for (const std::string url : {"s3://bucket/raw", "s3://bucket", "s3://my.bucket-1/a/b/"}) {
    Result<std::unique_ptr<ObjectStore>> store = OpenObjectStore(url, options);
    ASSERT_TRUE(store.has_value()) << url << ": " << store.error().message();
    EXPECT_EQ((*store)->url(), url.ends_with("/") ? url.substr(0, url.size() - 1) : url);
    EXPECT_NE((*store)->RootDescription().find("bucket '"), std::string::npos);
  }
}

TEST(OpenObjectStore, MalformedS3UrlsAndOptionsAreInvalidArguments) {
  for (const std::string url :
       {"s3://", "s3:///raw", "s3://ab/raw", "s3://Upper/raw", "s3://bad_name/raw",
        "s3://-dash/raw", "s3://bucket/a//b", "s3://bucket/../x", "s3://bucket/.tmp-x"}) {
    Result<std::unique_ptr<ObjectStore>> store = OpenObjectStore(url);
    ASSERT_FALSE(store.has_value()) << url;
    EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument) << url;
    EXPECT_NE(store.error().message().find("'" + url + "'"), std::string::npos)
        << store.error().message();
  }
  ObjectStoreOptions small_parts;
  small_parts.part_size = kMinS3PartSize - 1;
  ObjectStoreOptions bad_region;
  bad_region.region = "us east";
  ObjectStoreOptions bad_endpoint;
  bad_endpoint.endpoint = "127.0.0.1:9000";
  for (const ObjectStoreOptions& options : {small_parts, bad_region, bad_endpoint}) {
    Result<std::unique_ptr<ObjectStore>> store = OpenObjectStore("s3://bucket/raw", options);
    ASSERT_FALSE(store.has_value());
    EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(store.error().message().find("s3://bucket/raw"), std::string::npos)
        << store.error().message();
  }
}

TEST(OpenObjectStore, UnknownSchemesAndEmptyUrlsAreInvalidArguments) {
  for (const std::string url : {"ftp://host/raw", "", "file://", "memory://", "memory://a/b"}) {
    Result<std::unique_ptr<ObjectStore>> store = OpenObjectStore(url);
    ASSERT_FALSE(store.has_value()) << url;
    EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument) << url;
    if (!url.empty()) {
      EXPECT_NE(store.error().message().find("'" + url + "'"), std::string::npos)
          << store.error().message();
    }
  }
}

}  // namespace
}  // namespace citybooks

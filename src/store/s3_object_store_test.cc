// What the S3 backend does beyond the contract suite (object_store_test.cc
// runs that against s3rver too): multipart uploads, paged listings, keys that
// need escaping, S3's errors, retries, and the protocol helpers without a
// server. The server is the shared s3rver of tests/s3, which checks every
// request's SigV4 signature and payload hash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "s3/s3_server.h"
#include "store/internal/s3_protocol.h"
#include "store/internal/store_internal.h"
#include "store/object_store.h"
#include "store/object_store_test_support.h"

namespace citybooks {
namespace {

using s3test::S3Server;
using store_contract::ChunkedSource;
using store_contract::PatternBytes;
using Keys = std::vector<std::string>;

class S3Store : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = s3test::SharedS3Server();
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = *server;
    ASSERT_TRUE(server_->ClearFaults());
    static int buckets = 0;
    bucket_ = "s3-store-" + std::to_string(++buckets);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      EXPECT_TRUE(server_->ClearFaults());
    }
  }

  ObjectStoreOptions Options() const {
    ObjectStoreOptions options;
    options.endpoint = server_->endpoint();
    options.access_key_id = S3Server::kAccessKeyId;
    options.secret_access_key = S3Server::kSecretAccessKey;
    options.part_size = kMinS3PartSize;
    return options;
  }

  // A store on this test's bucket (created unless `create` is false).
  std::unique_ptr<ObjectStore> Open(const std::string& prefix = "/raw", int page_size = 1000,
                                    std::optional<ObjectStoreOptions> options = std::nullopt,
                                    bool create = true) {
    Result<std::unique_ptr<ObjectStore>> store = store_internal::OpenS3ObjectStore(
        "s3://" + bucket_ + prefix, options.value_or(Options()), page_size);
    EXPECT_TRUE(store.has_value()) << store.error().message();
    if (!store) return nullptr;
    if (create) {
      Result<bool> created = (*store)->CreateRoot();
      EXPECT_TRUE(created.has_value()) << created.error().message();
    }
    return std::move(store).value();
  }

  // The logged requests that contain `needle`, after ClearRequests.
  size_t Count(const std::string& needle) { return server_->CountRequests(needle); }

  static Keys KeysOf(ObjectStore& store, std::string_view prefix = "") {
    Result<std::vector<ObjectInfo>> listed = store.List(prefix);
    EXPECT_TRUE(listed.has_value()) << listed.error().message();
    Keys keys;
    for (const ObjectInfo& object : listed.value_or(std::vector<ObjectInfo>{})) {
      keys.push_back(object.key);
    }
    return keys;
  }

  S3Server* server_ = nullptr;
  std::string bucket_;
};

TEST_F(S3Store, MultipartUploadAboveThePartSize) {
  std::unique_ptr<ObjectStore> store = Open();
  ASSERT_NE(store, nullptr);
  const std::string bytes = PatternBytes(20'000'000, 42);
  ChunkedSource source(bytes, 65536);
  ASSERT_TRUE(server_->ClearRequests());
  Status put = store->Put("big/file.csv", source);
  ASSERT_TRUE(put.has_value()) << put.error().message();

  // 20,000,000 bytes in parts of 5 MiB: three full parts and a last one.
  const std::string key_path = "/" + bucket_ + "/raw/big/file.csv";
  EXPECT_EQ(Count("POST " + key_path + "?uploads= 200"), 1u);
  for (int part = 1; part <= 4; ++part) {
    EXPECT_EQ(Count("PUT " + key_path + "?partNumber=" + std::to_string(part) + "&uploadId="), 1u)
        << "part " << part;
  }
  EXPECT_EQ(Count("partNumber="), 4u);
  EXPECT_EQ(Count("POST " + key_path + "?uploadId="), 1u);
  EXPECT_EQ(Count("PUT " + key_path + " "), 0u) << "a single PUT of the whole object";
  EXPECT_TRUE(server_->PendingUploads(bucket_).empty());

  Result<std::vector<ObjectInfo>> listed = store->List("big/");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).size, bytes.size());
  ASSERT_TRUE(server_->ClearRequests());
  Result<std::string> read = store->GetBytes("big/file.csv");
  ASSERT_TRUE(read.has_value()) << read.error().message();
  EXPECT_EQ(read->size(), bytes.size());
  EXPECT_TRUE(*read == bytes) << "the bytes read back differ";
  // Read in ranges of one part size, never the whole object at once.
  EXPECT_EQ(Count("GET " + key_path + " 206"), 4u);
}

TEST_F(S3Store, ObjectOfExactlyThePartSizeGoesUpInOnePut) {
  std::unique_ptr<ObjectStore> store = Open();
  ASSERT_NE(store, nullptr);
  const std::string bytes = PatternBytes(kMinS3PartSize, 7);
  ChunkedSource source(bytes, 100'000);
  ASSERT_TRUE(server_->ClearRequests());
  ASSERT_TRUE(store->Put("one/part.bin", source));
  EXPECT_EQ(Count("PUT /" + bucket_ + "/raw/one/part.bin 200"), 1u);
  EXPECT_EQ(Count("uploads="), 0u);
  Result<std::string> read = store->GetBytes("one/part.bin");
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(*read == bytes);
}

TEST_F(S3Store, FailedMultipartUploadIsAbortedAndLeavesNothing) {
  std::unique_ptr<ObjectStore> store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->PutBytes("k", "old value"));
  // The source fails in the third part.
  ChunkedSource source(PatternBytes(16'000'000, 3), 65536, /*fail_at=*/12'000'000);
  ASSERT_TRUE(server_->ClearRequests());
  Status put = store->Put("k", source);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), ErrorCode::kIoError);
  EXPECT_EQ(Count("partNumber="), 2u);
  EXPECT_EQ(Count("DELETE /" + bucket_ + "/raw/k?uploadId="), 1u);
  EXPECT_EQ(Count("POST /" + bucket_ + "/raw/k?uploadId="), 0u)
      << "CompleteMultipartUpload was sent";
  EXPECT_TRUE(server_->PendingUploads(bucket_).empty());
  Result<std::string> old = store->GetBytes("k");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(*old, "old value");

  // A part the server refuses aborts the upload too.
  ASSERT_TRUE(server_->FailNext(400, 1, "partNumber=2"));
  ChunkedSource refused(PatternBytes(11'000'000, 4), 65536);
  put = store->Put("k2", refused);
  ASSERT_FALSE(put.has_value());
  EXPECT_NE(put.error().message().find("s3://" + bucket_ + "/raw/k2"), std::string::npos)
      << put.error().message();
  EXPECT_TRUE(server_->PendingUploads(bucket_).empty());
  EXPECT_EQ(KeysOf(*store), Keys{"k"});
}

TEST_F(S3Store, ListingPagesThroughContinuationTokens) {
  std::unique_ptr<ObjectStore> store = Open("/raw", /*page_size=*/3);
  ASSERT_NE(store, nullptr);
  // Folder walks and key order disagree here ('-' and '.' sort before '/').
  Keys keys = {"d/a", "d/a-b/c", "d/a.b", "d/a/b", "d/a/c", "d/b", "d/c/d/e", "d0"};
  for (const std::string& key : keys) ASSERT_TRUE(store->PutBytes(key, key));
  ASSERT_TRUE(server_->ClearRequests());
  Keys sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(KeysOf(*store), sorted);
  EXPECT_EQ(Count("list-type=2"), 3u);  // 8 keys, 3 to a page
  EXPECT_EQ(Count("continuation-token="), 2u);
  EXPECT_EQ(KeysOf(*store, "d/a"), (Keys{"d/a", "d/a-b/c", "d/a.b", "d/a/b", "d/a/c"}));
}

TEST_F(S3Store, KeysNeedingEscapingRoundTrip) {
  std::unique_ptr<ObjectStore> store = Open("/raw", 2);
  ASSERT_NE(store, nullptr);
  const Keys keys = {"esc/a&b<c>d\"e'f.csv",
                     "esc/100% sure?.csv",
                     "esc/plus+and space=.csv",
                     "esc/hash#tag;x,y@z.csv",
                     "esc/tab\there.csv",
                     "esc/&amp;literal.csv",
                     "esc/caf\xC3\xA9/\xE2\x82\xAC \xF0\x9F\x93\x8A.csv"};
  for (const std::string& key : keys) {
    ASSERT_TRUE(store->PutBytes(key, "value of " + key)) << key;
  }
  Keys sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(KeysOf(*store, "esc/"), sorted);
  for (const std::string& key : keys) {
    Result<std::string> got = store->GetBytes(key);
    ASSERT_TRUE(got.has_value()) << key << ": " << got.error().message();
    EXPECT_EQ(*got, "value of " + key);
  }
  EXPECT_EQ(KeysOf(*store, "esc/a&b<"), Keys{"esc/a&b<c>d\"e'f.csv"});
  EXPECT_EQ(KeysOf(*store, "esc/&amp;"), Keys{"esc/&amp;literal.csv"});
  for (const std::string& key : keys) ASSERT_TRUE(store->Delete(key)) << key;
  EXPECT_EQ(KeysOf(*store), Keys{});
}

TEST_F(S3Store, WrongCredentialsGiveOneClearError) {
  std::unique_ptr<ObjectStore> good = Open();
  ASSERT_NE(good, nullptr);
  ObjectStoreOptions wrong_key = Options();
  wrong_key.access_key_id = "NOSUCHKEY";
  ObjectStoreOptions wrong_secret = Options();
  wrong_secret.secret_access_key = "not-the-secret-4711";
  const std::map<std::string, ObjectStoreOptions> cases = {{"InvalidAccessKeyId", wrong_key},
                                                           {"SignatureDoesNotMatch", wrong_secret}};
  for (const auto& [code, options] : cases) {
    std::unique_ptr<ObjectStore> store = Open("/raw", 1000, options, /*create=*/false);
    ASSERT_NE(store, nullptr);
    Status put = store->PutBytes("a/b.csv", "x");
    ASSERT_FALSE(put.has_value()) << code;
    const std::string& message = put.error().message();
    EXPECT_EQ(put.error().code(), ErrorCode::kInvalidArgument) << message;
    EXPECT_NE(message.find(code), std::string::npos) << message;
    EXPECT_NE(message.find("s3://" + bucket_ + "/raw/a/b.csv"), std::string::npos) << message;
    EXPECT_NE(
        message.find(code == "InvalidAccessKeyId" ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"),
        std::string::npos)
        << message;
    EXPECT_EQ(message.find("not-the-secret-4711"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    Result<std::vector<ObjectInfo>> listed = store->List("");
    ASSERT_FALSE(listed.has_value());
    EXPECT_NE(listed.error().message().find(code), std::string::npos);
  }
  EXPECT_EQ(KeysOf(*good), Keys{});

  ObjectStoreOptions none = Options();
  none.access_key_id.clear();
  none.secret_access_key.clear();
  std::unique_ptr<ObjectStore> anonymous = Open("/raw", 1000, none, /*create=*/false);
  ASSERT_NE(anonymous, nullptr);
  Result<std::vector<ObjectInfo>> listed = anonymous->List("");
  ASSERT_FALSE(listed.has_value());
  EXPECT_EQ(listed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(listed.error().message().find("AWS_ACCESS_KEY_ID"), std::string::npos)
      << listed.error().message();
}

TEST_F(S3Store, MissingBucketGivesAClearError) {
  std::unique_ptr<ObjectStore> store = Open("/raw", 1000, std::nullopt, /*create=*/false);
  ASSERT_NE(store, nullptr);
  auto expect_clear = [&](const Error& error, const std::string& what) {
    EXPECT_EQ(error.code(), ErrorCode::kNotFound) << what << ": " << error.message();
    EXPECT_NE(error.message().find("NoSuchBucket"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("bucket '" + bucket_ + "' does not exist"), std::string::npos)
        << error.message();
    EXPECT_NE(error.message().find("citybooks init"), std::string::npos) << error.message();
  };
  Status put = store->PutBytes("a", "x");
  ASSERT_FALSE(put.has_value());
  expect_clear(put.error(), "put");
  ChunkedSource big(PatternBytes(6'000'000), 65536);
  put = store->Put("big", big);
  ASSERT_FALSE(put.has_value());
  expect_clear(put.error(), "multipart put");
  Result<std::vector<ObjectInfo>> listed = store->List("");
  ASSERT_FALSE(listed.has_value());
  expect_clear(listed.error(), "list");
  Result<std::unique_ptr<ByteSource>> got = store->Get("a");
  ASSERT_FALSE(got.has_value());
  expect_clear(got.error(), "get");
  // Nothing to delete in a missing bucket: done.
  EXPECT_TRUE(store->Delete("a").has_value());
}

TEST_F(S3Store, CreateRootAndRemoveRootIfEmptyAreIdempotent) {
  std::unique_ptr<ObjectStore> store = Open("/raw", 1000, std::nullopt, /*create=*/false);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->RootDescription(), "bucket '" + bucket_ + "'");
  Result<bool> removed = store->RemoveRootIfEmpty();
  ASSERT_TRUE(removed.has_value()) << removed.error().message();
  EXPECT_FALSE(*removed);  // there is no bucket yet
  Result<bool> created = store->CreateRoot();
  ASSERT_TRUE(created.has_value()) << created.error().message();
  EXPECT_TRUE(*created);
  EXPECT_TRUE(std::filesystem::is_directory(server_->data_dir() / bucket_));
  created = store->CreateRoot();
  ASSERT_TRUE(created.has_value());
  EXPECT_FALSE(*created);

  // An object outside the store's prefix keeps the bucket.
  std::unique_ptr<ObjectStore> other = Open("/other", 1000, std::nullopt, /*create=*/false);
  ASSERT_TRUE(other->PutBytes("x", "1"));
  removed = store->RemoveRootIfEmpty();
  ASSERT_TRUE(removed.has_value());
  EXPECT_FALSE(*removed);
  ASSERT_TRUE(other->Delete("x"));

  removed = store->RemoveRootIfEmpty();
  ASSERT_TRUE(removed.has_value()) << removed.error().message();
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(std::filesystem::exists(server_->data_dir() / bucket_));
  removed = store->RemoveRootIfEmpty();
  ASSERT_TRUE(removed.has_value()) << removed.error().message();
  EXPECT_FALSE(*removed);
}

TEST_F(S3Store, RetriesServerErrorsThrottlingAndResets) {
  std::unique_ptr<ObjectStore> store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(server_->ClearRequests());
  ASSERT_TRUE(server_->FailNext(503, 1, "PUT "));
  ASSERT_TRUE(server_->FailNext(500, 1, "PUT "));
  ASSERT_TRUE(server_->ResetNext(1, "PUT "));
  ASSERT_TRUE(store->PutBytes("r/k", "value"));
  EXPECT_EQ(Count("PUT /" + bucket_ + "/raw/r/k"), 4u);
  EXPECT_EQ(Count("injected"), 3u);

  ASSERT_TRUE(server_->FailNext(429, 1, "GET "));
  ASSERT_TRUE(server_->ResetNext(1, "GET "));
  Result<std::string> got = store->GetBytes("r/k");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(*got, "value");
  ASSERT_TRUE(server_->FailNext(503, 1, "list-type=2"));
  EXPECT_EQ(KeysOf(*store), Keys{"r/k"});

  // A part that fails once is sent again; the object is whole.
  ASSERT_TRUE(server_->FailNext(503, 1, "partNumber=2"));
  const std::string bytes = PatternBytes(11'000'000, 9);
  ChunkedSource source(bytes, 65536);
  ASSERT_TRUE(store->Put("r/big", source));
  Result<std::string> big = store->GetBytes("r/big");
  ASSERT_TRUE(big.has_value());
  EXPECT_TRUE(*big == bytes);
}

TEST_F(S3Store, ServerErrorsThatDoNotEndNameTheObject) {
  std::unique_ptr<ObjectStore> store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(server_->FailNext(503, 100, "PUT "));
  Status put = store->PutBytes("down/k", "value");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(put.error().message().find("s3://" + bucket_ + "/raw/down/k"), std::string::npos)
      << put.error().message();
  EXPECT_NE(put.error().message().find("503"), std::string::npos) << put.error().message();
}

TEST_F(S3Store, TemporaryCredentialsSendASignedSessionToken) {
  ObjectStoreOptions options = Options();
  options.session_token = "a-session-token";
  std::unique_ptr<ObjectStore> store = Open("/raw", 1000, options);
  ASSERT_NE(store, nullptr);
  // The server refuses x-amz-* headers that are not signed.
  ASSERT_TRUE(store->PutBytes("t", "with token"));
  Result<std::string> got = store->GetBytes("t");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(*got, "with token");
}

TEST_F(S3Store, ReaderStreamsRangesAndSurvivesTheStoreClosing) {
  std::unique_ptr<ObjectStore> store = Open();
  ASSERT_NE(store, nullptr);
  const std::string bytes = PatternBytes(12'000'000, 5);
  ChunkedSource source(bytes, 65536);
  ASSERT_TRUE(store->Put("ranges", source));
  Result<std::unique_ptr<ByteSource>> reader = store->Get("ranges");
  ASSERT_TRUE(reader.has_value()) << reader.error().message();
  store.reset();
  std::string read;
  std::string buffer(1 << 20, '\0');
  while (true) {
    Result<size_t> n = (*reader)->Read(buffer.data(), buffer.size());
    ASSERT_TRUE(n.has_value()) << n.error().message();
    if (*n == 0) break;
    read.append(buffer, 0, *n);
  }
  EXPECT_TRUE(read == bytes);
}

// --- Options from the environment ------------------------------------------

EnvironmentLookup FakeEnvironment(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ObjectStoreOptionsFromEnvironment, ReadsCredentialsRegionAndPartSize) {
  ObjectStoreOptions base;
  base.endpoint = "http://127.0.0.1:9000";
  base.region = "eu-west-1";
  Result<ObjectStoreOptions> options = ObjectStoreOptionsFromEnvironment(
      base, FakeEnvironment({{"AWS_ACCESS_KEY_ID", "AKID"},
                             {"AWS_SECRET_ACCESS_KEY", "SECRET"},
                             {"AWS_SESSION_TOKEN", "TOKEN"},
                             {"AWS_REGION", "us-west-2"},
                             {"CITYBOOKS_S3_PART_SIZE", "6291456"}}));
  ASSERT_TRUE(options.has_value()) << options.error().message();
  EXPECT_EQ(options->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(options->access_key_id, "AKID");
  EXPECT_EQ(options->secret_access_key, "SECRET");
  EXPECT_EQ(options->session_token, "TOKEN");
  EXPECT_EQ(options->region, "us-west-2");
  EXPECT_EQ(options->part_size, 6291456u);

  Result<ObjectStoreOptions> unchanged =
      ObjectStoreOptionsFromEnvironment(base, FakeEnvironment({}));
  ASSERT_TRUE(unchanged.has_value());
  EXPECT_EQ(unchanged->region, "eu-west-1");
  EXPECT_EQ(unchanged->part_size, 8 * kMebibyte);
  EXPECT_TRUE(unchanged->access_key_id.empty());
}

TEST(ObjectStoreOptionsFromEnvironment, UnusablePartSizesNameTheVariable) {
  for (const std::string value : {"5242879", "abc", "-1", "5368709121", "5MB"}) {
    Result<ObjectStoreOptions> options =
        ObjectStoreOptionsFromEnvironment({}, FakeEnvironment({{"CITYBOOKS_S3_PART_SIZE", value}}));
    ASSERT_FALSE(options.has_value()) << value;
    EXPECT_EQ(options.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(options.error().message().find("CITYBOOKS_S3_PART_SIZE=" + value), std::string::npos)
        << options.error().message();
  }
  Result<ObjectStoreOptions> smallest = ObjectStoreOptionsFromEnvironment(
      {}, FakeEnvironment({{"CITYBOOKS_S3_PART_SIZE", "5242880"}}));
  ASSERT_TRUE(smallest.has_value());
  EXPECT_EQ(smallest->part_size, kMinS3PartSize);
}

// --- The protocol without a server -----------------------------------------

TEST(S3Protocol, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(store_internal::UriEncode("a b/c+d~e_f.g-h", true), "a%20b/c%2Bd~e_f.g-h");
  EXPECT_EQ(store_internal::UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(store_internal::UriEncode("caf\xC3\xA9", true), "caf%C3%A9");
  EXPECT_EQ(store_internal::UriDecode("a%20b+c%2Bd%zz", true), "a b c+d%zz");
  EXPECT_EQ(store_internal::UriDecode("a+b", false), "a+b");
}

TEST(S3Protocol, XmlUnescapeDecodesEntitiesAndCharacterReferences) {
  EXPECT_EQ(store_internal::XmlUnescape("a&amp;b&lt;c&gt;d&quot;e&apos;f"), "a&b<c>d\"e'f");
  EXPECT_EQ(store_internal::XmlUnescape("tab&#9;x&#x9;&#xE9;&#8364;"),
            "tab\tx\t\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(store_internal::XmlUnescape("&#x1F4CA;"), "\xF0\x9F\x93\x8A");
  // Unknown or malformed references stay as written.
  EXPECT_EQ(store_internal::XmlUnescape("&nbsp; & &#xZZ; &#0; &amp"), "&nbsp; & &#xZZ; &#0; &amp");
  EXPECT_EQ(store_internal::XmlEscape("a&b<c>\"'"), "a&amp;b&lt;c&gt;&quot;&apos;");
}

TEST(S3Protocol, ParsesAListObjectsV2Page) {
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><Prefix>raw/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
      "<IsTruncated>true</IsTruncated>"
      "<Contents><Key>raw/a&amp;b &lt;1&gt;.csv</Key><LastModified>x</LastModified>"
      "<ETag>&quot;abc&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass>"
      "</Contents>"
      "<Contents><Key>raw/tab&#x9;&#233;</Key><Size>0</Size></Contents>"
      "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
      "</ListBucketResult>";
  Result<store_internal::S3ListPage> page = store_internal::ParseListObjectsV2(xml);
  ASSERT_TRUE(page.has_value()) << page.error().message();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "raw/a&b <1>.csv");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_EQ(page->objects[1].key, "raw/tab\t\xC3\xA9");
  EXPECT_EQ(page->objects[1].size, 0u);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3Protocol, ParsesUrlEncodedAndEmptyListings) {
  Result<store_internal::S3ListPage> page = store_internal::ParseListObjectsV2(
      "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
      "<Contents><Key>a+b%2Bc%26d%C3%A9</Key><Size>3</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(page.has_value()) << page.error().message();
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "a b+c&d\xC3\xA9");
  EXPECT_FALSE(page->truncated);

  page = store_internal::ParseListObjectsV2(
      "<ListBucketResult><Name>b</Name><Prefix/><KeyCount>0</KeyCount>"
      "<IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->objects.empty());

  for (const std::string bad :
       {"<Error><Code>x</Code></Error>", "<ListBucketResult><Contents/></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>x</Size></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"}) {
    Result<store_internal::S3ListPage> refused = store_internal::ParseListObjectsV2(bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().code(), ErrorCode::kDataError);
  }
}

TEST(S3Protocol, ParsesErrorsAndUploadIds) {
  store_internal::S3ErrorBody error = store_internal::ParseS3Error(
      "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The key &apos;a&apos; "
      "does not exist.</Message><Key>a</Key></Error>");
  EXPECT_EQ(error.code, "NoSuchKey");
  EXPECT_EQ(error.message, "The key 'a' does not exist.");
  EXPECT_TRUE(store_internal::ParseS3Error("not xml").code.empty());

  Result<std::string> id = store_internal::ParseUploadId(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
      "<UploadId>VXBsb2FkIElE&amp;x</UploadId></InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(*id, "VXBsb2FkIElE&x");
  EXPECT_FALSE(store_internal::ParseUploadId("<InitiateMultipartUploadResult/>").has_value());
  EXPECT_EQ(store_internal::CompleteMultipartUploadXml({"\"e1\"", "\"e2\""}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
}

}  // namespace
}  // namespace citybooks

#include "rawzone/raw_zone.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/byte_source.h"
#include "common/sha256.h"
#include "store/object_store.h"

namespace citybooks {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A clock that says what the test tells it to.
class FixedClock : public Clock {
 public:
  explicit FixedClock(std::chrono::system_clock::time_point now) : now_(now) {}
  std::chrono::system_clock::time_point Now() const override { return now_; }
  void Advance(std::chrono::seconds by) { now_ += by; }

 private:
  std::chrono::system_clock::time_point now_;
};

// 2026-11-22T12:44:50Z
const std::chrono::system_clock::time_point kNovember22 =
    std::chrono::sys_days(std::chrono::year(2026) / 11 / 22) + 12h + 44min + 50s;

// Yields its bytes a few at a time, so hashing and record counting see
// records and quoted fields split across reads.
class TrickleSource : public ByteSource {
 public:
  TrickleSource(std::string bytes, size_t step) : bytes_(std::move(bytes)), step_(step) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    size_t n = bytes_.copy(buffer, std::min(size, step_), offset_);
    offset_ += n;
    return n;
  }
  std::string_view name() const override { return "<trickle>"; }

 private:
  std::string bytes_;
  size_t step_;
  size_t offset_ = 0;
};

std::string ReadAll(ByteSource& source) {
  std::string out;
  char buffer[4096];
  while (true) {
    Result<size_t> n = source.Read(buffer, sizeof buffer);
    EXPECT_TRUE(n.has_value());
    if (!n || *n == 0) break;
    out.append(buffer, *n);
  }
  return out;
}

ManifestFile Meta(std::string source_item, std::string etag = "") {
  ManifestFile meta;
  meta.source_item = std::move(source_item);
  meta.source_url = "https://data.example.org/" + meta.source_item;
  meta.etag = std::move(etag);
  return meta;
}

// Three data records; one has a quoted line break, lines end in CRLF.
const std::string kSpendingCsv =
    "Fiscal Year,Department,Description,Amount\r\n"
    "2026,Police,\"Overtime,\r\nweekend\",1234.50\r\n"
    "2026,Fire,Hoses,99.00\r\n"
    "2025,\"Library \"\"Main\"\"\",Books,10.00\r\n";
// Two data records and no final line end.
const std::string kRevenueCsv =
    "year,source,amount\n"
    "2026,\"Property\ntax\",5\n"
    "2026,Sales tax,6";

enum class Backend { kMemory, kLocal };

class RawZoneTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kLocal) {
      std::string pattern = (fs::temp_directory_path() / "citybooks-rawzone-XXXXXX").string();
      ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
      folder_ = pattern;
      Result<std::unique_ptr<ObjectStore>> store = OpenLocalObjectStore(folder_ + "/raw");
      ASSERT_TRUE(store.has_value()) << store.error().message();
      store_ = std::move(store).value();
    } else {
      store_ = NewMemoryObjectStore();
    }
  }

  void TearDown() override {
    store_.reset();
    if (!folder_.empty()) fs::remove_all(folder_);
  }

  std::vector<std::string> AllKeys(std::string_view prefix = "") {
    Result<std::vector<ObjectInfo>> listed = store_->List(prefix);
    EXPECT_TRUE(listed.has_value()) << listed.error().message();
    std::vector<std::string> keys;
    for (const ObjectInfo& info : listed.value_or(std::vector<ObjectInfo>{})) {
      keys.push_back(info.key);
    }
    return keys;
  }

  // Lands one snapshot with one file per (name, contents) pair.
  Manifest Land(RawZone& zone, std::string_view dataset,
                const std::vector<std::pair<std::string, std::string>>& files) {
    Result<SnapshotWriter> writer = zone.BeginSnapshot(dataset, {});
    EXPECT_TRUE(writer.has_value()) << writer.error().message();
    if (!writer) return {};
    for (const auto& [name, contents] : files) {
      std::unique_ptr<ByteSource> source = MakeStringSource(contents);
      Result<ManifestFile> added = writer->AddFile(name, *source, Meta(name));
      EXPECT_TRUE(added.has_value()) << added.error().message();
    }
    Result<Manifest> manifest = writer->Commit();
    EXPECT_TRUE(manifest.has_value()) << manifest.error().message();
    return manifest.value_or(Manifest{});
  }

  std::string folder_;  // empty for the memory store
  std::unique_ptr<ObjectStore> store_;
  FixedClock clock_{kNovember22};
};

INSTANTIATE_TEST_SUITE_P(Stores, RawZoneTest, ::testing::Values(Backend::kMemory, Backend::kLocal),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kLocal ? "Local" : "Memory";
                         });

TEST_P(RawZoneTest, SnapshotWithTwoFilesRoundTrips) {
  RawZone zone(store_.get(), clock_);
  SnapshotOptions options;
  options.source_urls = {"https://data.sfgov.org/a", "https://data.sfgov.org/b"};
  options.watermark = "2026-11-21T00:00:00Z";
  Result<SnapshotWriter> writer = zone.BeginSnapshot("sf-spending", options);
  ASSERT_TRUE(writer.has_value()) << writer.error().message();

  TrickleSource spending(kSpendingCsv, 3);
  Result<ManifestFile> first =
      writer->AddFile("spending.csv", spending, Meta("abcd-1234", "\"e1\""));
  ASSERT_TRUE(first.has_value()) << first.error().message();
  EXPECT_EQ(first->name, "spending.csv");
  EXPECT_EQ(first->bytes, kSpendingCsv.size());
  EXPECT_EQ(first->sha256, Sha256Hex(kSpendingCsv));
  EXPECT_EQ(first->rows, 3u);
  EXPECT_EQ(first->source_item, "abcd-1234");
  EXPECT_EQ(first->etag, "\"e1\"");

  TrickleSource revenue(kRevenueCsv, 1);
  Result<ManifestFile> second = writer->AddFile("revenue.csv", revenue, Meta("efgh-5678"));
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_EQ(second->bytes, kRevenueCsv.size());
  EXPECT_EQ(second->sha256, Sha256Hex(kRevenueCsv));
  EXPECT_EQ(second->rows, 2u);

  Result<Manifest> committed = writer->Commit();
  ASSERT_TRUE(committed.has_value()) << committed.error().message();

  Result<std::vector<Manifest>> snapshots = zone.ListSnapshots("sf-spending");
  ASSERT_TRUE(snapshots.has_value()) << snapshots.error().message();
  ASSERT_EQ(snapshots->size(), 1u);
  const Manifest& manifest = snapshots->front();
  EXPECT_EQ(ManifestToJson(manifest), ManifestToJson(*committed));
  EXPECT_EQ(manifest.dataset, "sf-spending");
  EXPECT_EQ(manifest.kind, "full");
  EXPECT_EQ(manifest.fetched_at, "2026-11-22T12:44:50Z");
  EXPECT_EQ(manifest.source_urls, options.source_urls);
  EXPECT_EQ(manifest.watermark, "2026-11-21T00:00:00Z");
  ASSERT_EQ(manifest.files.size(), 2u);
  EXPECT_EQ(manifest.files[0].name, "spending.csv");
  EXPECT_EQ(manifest.files[0].sha256, Sha256Hex(kSpendingCsv));
  EXPECT_EQ(manifest.files[1].name, "revenue.csv");
  EXPECT_EQ(manifest.files[1].rows, 2u);

  Result<std::unique_ptr<ByteSource>> opened = zone.OpenFile(manifest, "spending.csv");
  ASSERT_TRUE(opened.has_value()) << opened.error().message();
  EXPECT_EQ(ReadAll(**opened), kSpendingCsv);
  opened = zone.OpenFile(manifest, "revenue.csv");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(ReadAll(**opened), kRevenueCsv);
}

TEST_P(RawZoneTest, RowsExcludeTheHeaderAndEmptyFilesHaveNone) {
  RawZone zone(store_.get(), clock_);
  Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
  ASSERT_TRUE(writer.has_value());
  struct Case {
    const char* name;
    std::string contents;
    uint64_t rows;
  };
  const std::vector<Case> cases = {
      {"empty.csv", "", 0},
      {"header-only.csv", "a,b\n", 0},
      {"header-no-newline.csv", "a,b", 0},
      {"one-row.csv", "a,b\n1,2\n", 1},
      {"big.csv", "", 0},
  };
  std::string big = "id,text\n";
  for (int i = 0; i < 100000; ++i) big += std::to_string(i) + ",\"line one\nline two\"\n";
  for (const Case& c : cases) {
    std::string contents = std::string(c.name) == "big.csv" ? big : c.contents;
    std::unique_ptr<ByteSource> source = MakeStringSource(contents);
    Result<ManifestFile> added = writer->AddFile(c.name, *source, Meta(c.name));
    ASSERT_TRUE(added.has_value()) << added.error().message();
    EXPECT_EQ(added->bytes, contents.size()) << c.name;
    EXPECT_EQ(added->rows, std::string(c.name) == "big.csv" ? 100000u : c.rows) << c.name;
    EXPECT_EQ(added->sha256, Sha256Hex(contents)) << c.name;
  }
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_P(RawZoneTest, SnapshotInvisibleUntilManifestWritten) {
  RawZone zone(store_.get(), clock_);
  Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
  ASSERT_TRUE(writer.has_value());
  std::unique_ptr<ByteSource> source = MakeStringSource(kRevenueCsv);
  ASSERT_TRUE(writer->AddFile("revenue.csv", *source, Meta("r")));

  Result<std::vector<Manifest>> before = zone.ListSnapshots("d");
  ASSERT_TRUE(before.has_value());
  EXPECT_TRUE(before->empty());
  Result<std::optional<ManifestFile>> latest = zone.LatestFile("d", "r");
  ASSERT_TRUE(latest.has_value());
  EXPECT_FALSE(latest->has_value());

  ASSERT_TRUE(writer->Commit());
  Result<std::vector<Manifest>> after = zone.ListSnapshots("d");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->size(), 1u);
}

TEST_P(RawZoneTest, FixedClockGivesDateIdAndLayout) {
  RawZone zone(store_.get(), clock_);
  Manifest manifest = Land(zone, "sf-spending", {{"sf.csv", kSpendingCsv}});
  EXPECT_EQ(manifest.date, "2026-11-22");
  EXPECT_EQ(manifest.fetched_at, "2026-11-22T12:44:50Z");
  EXPECT_TRUE(
      std::regex_match(manifest.snapshot_id, std::regex("20261122T124450[.]000000Z-[0-9a-f]{6}")))
      << manifest.snapshot_id;
  EXPECT_EQ(manifest.prefix(), "sf-spending/2026-11-22/" + manifest.snapshot_id + "/");
  EXPECT_EQ(AllKeys(), (std::vector<std::string>{manifest.prefix() + "manifest.json",
                                                 manifest.prefix() + "sf.csv"}));
  if (!folder_.empty()) {
    EXPECT_TRUE(fs::is_regular_file(folder_ + "/raw/" + manifest.prefix() + "sf.csv"));
  }
}

TEST_P(RawZoneTest, SnapshotsBegunAtTheSameInstantByDifferentWritersKeepTheirOrder) {
  // Separate RawZone objects stand for separate processes sharing one store;
  // the frozen clock is the worst case of a coarse or stepped-back clock.
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    RawZone zone(store_.get(), clock_);
    ids.push_back(Land(zone, "d", {{"a.csv", "a\n" + std::to_string(i) + "\n"}}).snapshot_id);
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  RawZone zone(store_.get(), clock_);
  Result<std::vector<Manifest>> listed = zone.ListSnapshots("d");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ((*listed)[i].snapshot_id, ids[i]);
}

TEST_P(RawZoneTest, SnapshotsListOldestFirst) {
  RawZone zone(store_.get(), clock_);
  std::vector<std::string> ids;
  // Two on one day, then several within one second of the next day.
  ids.push_back(Land(zone, "d", {{"a.csv", "a\n1\n"}}).snapshot_id);
  clock_.Advance(3h);
  ids.push_back(Land(zone, "d", {{"a.csv", "a\n2\n"}}).snapshot_id);
  clock_.Advance(24h);
  for (int i = 0; i < 5; ++i) ids.push_back(Land(zone, "d", {{"a.csv", "a\n3\n"}}).snapshot_id);

  for (size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]) << i;
  Result<std::vector<Manifest>> snapshots = zone.ListSnapshots("d");
  ASSERT_TRUE(snapshots.has_value()) << snapshots.error().message();
  ASSERT_EQ(snapshots->size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ((*snapshots)[i].snapshot_id, ids[i]);
  EXPECT_EQ((*snapshots)[0].date, "2026-11-22");
  EXPECT_EQ((*snapshots)[2].date, "2026-11-23");
}

TEST_P(RawZoneTest, SnapshotIdsAreUniqueWithinOneSecond) {
  RawZone zone(store_.get(), clock_);
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
    ASSERT_TRUE(writer.has_value());
    Result<Manifest> empty = writer->Commit();  // fails, but the id was made
    ASSERT_FALSE(empty.has_value());
    std::unique_ptr<ByteSource> source = MakeStringSource("x");
    ASSERT_TRUE(writer->AddFile("x", *source, Meta("x")));
    Result<Manifest> manifest = writer->Commit();
    ASSERT_TRUE(manifest.has_value());
    ids.push_back(manifest->snapshot_id);
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
}

TEST_P(RawZoneTest, CommitWithoutFilesFails) {
  RawZone zone(store_.get(), clock_);
  Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
  ASSERT_TRUE(writer.has_value());
  Result<Manifest> manifest = writer->Commit();
  ASSERT_FALSE(manifest.has_value());
  EXPECT_EQ(manifest.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(manifest.error().message().find("no files"), std::string::npos);
  EXPECT_TRUE(AllKeys().empty());
}

TEST_P(RawZoneTest, AbandonedWriterLeavesNoObjects) {
  RawZone zone(store_.get(), clock_);
  {
    Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
    ASSERT_TRUE(writer.has_value());
    std::unique_ptr<ByteSource> a = MakeStringSource(kSpendingCsv);
    std::unique_ptr<ByteSource> b = MakeStringSource(kRevenueCsv);
    ASSERT_TRUE(writer->AddFile("a.csv", *a, Meta("a")));
    ASSERT_TRUE(writer->AddFile("b.csv", *b, Meta("b")));
    EXPECT_EQ(AllKeys().size(), 2u);
  }  // destroyed without Commit
  EXPECT_TRUE(AllKeys().empty());

  Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
  ASSERT_TRUE(writer.has_value());
  std::unique_ptr<ByteSource> a = MakeStringSource(kSpendingCsv);
  ASSERT_TRUE(writer->AddFile("a.csv", *a, Meta("a")));
  writer->Abandon();
  EXPECT_TRUE(AllKeys().empty());
  std::unique_ptr<ByteSource> b = MakeStringSource(kRevenueCsv);
  Result<ManifestFile> late = writer->AddFile("b.csv", *b, Meta("b"));
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), ErrorCode::kFailedPrecondition);
  Result<Manifest> commit = writer->Commit();
  ASSERT_FALSE(commit.has_value());
  EXPECT_EQ(commit.error().code(), ErrorCode::kFailedPrecondition);
  if (!folder_.empty()) {
    EXPECT_TRUE(fs::is_empty(folder_ + "/raw"));
  }
}

TEST_P(RawZoneTest, MovedIntoWriterAbandonsItsOldSnapshot) {
  RawZone zone(store_.get(), clock_);
  Result<SnapshotWriter> first = zone.BeginSnapshot("d", {});
  Result<SnapshotWriter> second = zone.BeginSnapshot("d", {});
  ASSERT_TRUE(first.has_value() && second.has_value());
  std::unique_ptr<ByteSource> a = MakeStringSource("a\n1\n");
  ASSERT_TRUE(first->AddFile("a.csv", *a, Meta("a")));
  *first = std::move(*second);
  EXPECT_TRUE(AllKeys().empty());
  std::unique_ptr<ByteSource> b = MakeStringSource("b\n1\n");
  ASSERT_TRUE(first->AddFile("b.csv", *b, Meta("b")));
  ASSERT_TRUE(first->Commit());
  Result<std::vector<Manifest>> snapshots = zone.ListSnapshots("d");
  ASSERT_TRUE(snapshots.has_value());
  ASSERT_EQ(snapshots->size(), 1u);
  EXPECT_EQ(snapshots->front().files.at(0).name, "b.csv");
}

TEST_P(RawZoneTest, CommittedSnapshotSurvivesItsWriter) {
  RawZone zone(store_.get(), clock_);
  Manifest manifest = Land(zone, "d", {{"a.csv", "a\n1\n"}});
  EXPECT_EQ(AllKeys().size(), 2u);
  Result<std::vector<Manifest>> snapshots = zone.ListSnapshots("d");
  ASSERT_TRUE(snapshots.has_value());
  EXPECT_EQ(snapshots->size(), 1u);
}

TEST_P(RawZoneTest, WriterRejectsUseAfterCommit) {
  RawZone zone(store_.get(), clock_);
  Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
  ASSERT_TRUE(writer.has_value());
  std::unique_ptr<ByteSource> a = MakeStringSource("a\n");
  ASSERT_TRUE(writer->AddFile("a.csv", *a, Meta("a")));
  ASSERT_TRUE(writer->Commit());
  Result<Manifest> again = writer->Commit();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kFailedPrecondition);
  std::unique_ptr<ByteSource> b = MakeStringSource("b\n");
  Result<ManifestFile> late = writer->AddFile("b.csv", *b, Meta("b"));
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_P(RawZoneTest, PutFailingMidwayLeavesNoVisibleSnapshot) {
  // The first file (about 170 bytes) fits the budget; the second fails
  // part-way.
  std::unique_ptr<ObjectStore> faulty = NewFaultyObjectStore(store_.get(), 200);
  RawZone zone(faulty.get(), clock_);
  {
    Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
    ASSERT_TRUE(writer.has_value());
    std::unique_ptr<ByteSource> a = MakeStringSource(kSpendingCsv);
    ASSERT_TRUE(writer->AddFile("a.csv", *a, Meta("a")));
    std::unique_ptr<ByteSource> b = MakeStringSource(std::string(1000, 'x'));
    Result<ManifestFile> failed = writer->AddFile("b.csv", *b, Meta("b"));
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().code(), ErrorCode::kIoError);
    EXPECT_NE(failed.error().message().find("b.csv"), std::string::npos)
        << failed.error().message();

    Result<std::vector<Manifest>> snapshots = zone.ListSnapshots("d");
    ASSERT_TRUE(snapshots.has_value());
    EXPECT_TRUE(snapshots->empty());
    // The manifest cannot be written either: the snapshot stays invisible.
    Result<Manifest> commit = writer->Commit();
    ASSERT_FALSE(commit.has_value());
    EXPECT_EQ(commit.error().code(), ErrorCode::kIoError);
    snapshots = zone.ListSnapshots("d");
    ASSERT_TRUE(snapshots.has_value());
    EXPECT_TRUE(snapshots->empty());
  }
  // The writer, destroyed uncommitted, removed the file that did land.
  EXPECT_TRUE(AllKeys().empty());
  if (!folder_.empty()) {
    EXPECT_TRUE(fs::is_empty(folder_ + "/raw"));
  }
}

TEST_P(RawZoneTest, FileNamesAreValidated) {
  RawZone zone(store_.get(), clock_);
  Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
  ASSERT_TRUE(writer.has_value());
  for (const char* name : {"", "a/b.csv", "manifest.json", "..", "."}) {
    std::unique_ptr<ByteSource> source = MakeStringSource("x");
    Result<ManifestFile> added = writer->AddFile(name, *source, Meta("x"));
    ASSERT_FALSE(added.has_value()) << name;
    EXPECT_EQ(added.error().code(), ErrorCode::kInvalidArgument) << name;
    EXPECT_NE(added.error().message().find(std::string("'") + name + "'"), std::string::npos)
        << added.error().message();
  }
  std::unique_ptr<ByteSource> first = MakeStringSource("x");
  ASSERT_TRUE(writer->AddFile("dup.csv", *first, Meta("x")));
  std::unique_ptr<ByteSource> second = MakeStringSource("y");
  Result<ManifestFile> duplicate = writer->AddFile("dup.csv", *second, Meta("y"));
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_EQ(duplicate.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(duplicate.error().message().find("dup.csv"), std::string::npos);
  Result<Manifest> manifest = writer->Commit();
  ASSERT_TRUE(manifest.has_value());
  ASSERT_EQ(manifest->files.size(), 1u);
  Result<std::string> kept = store_->GetBytes(manifest->prefix() + "dup.csv");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(*kept, "x");
}

TEST_P(RawZoneTest, DatasetNamesAreValidated) {
  RawZone zone(store_.get(), clock_);
  for (const char* dataset : {"", "a/b", "..", "."}) {
    Result<SnapshotWriter> writer = zone.BeginSnapshot(dataset, {});
    ASSERT_FALSE(writer.has_value()) << dataset;
    EXPECT_EQ(writer.error().code(), ErrorCode::kInvalidArgument);
    Result<std::vector<Manifest>> listed = zone.ListSnapshots(dataset);
    ASSERT_FALSE(listed.has_value()) << dataset;
    EXPECT_EQ(listed.error().code(), ErrorCode::kInvalidArgument);
    Status deleted = zone.DeleteDataset(dataset);
    ASSERT_FALSE(deleted.has_value()) << dataset;
  }
  SnapshotOptions bad_kind;
  bad_kind.kind = "partial";
  Result<SnapshotWriter> writer = zone.BeginSnapshot("d", bad_kind);
  ASSERT_FALSE(writer.has_value());
  EXPECT_EQ(writer.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(RawZoneTest, LatestFileComesFromTheNewestSnapshotHoldingIt) {
  RawZone zone(store_.get(), clock_);
  auto land = [&](std::vector<std::pair<std::string, std::string>> items) {
    Result<SnapshotWriter> writer = zone.BeginSnapshot("d", {});
    EXPECT_TRUE(writer.has_value());
    for (const auto& [item, contents] : items) {
      std::unique_ptr<ByteSource> source = MakeStringSource(contents);
      EXPECT_TRUE(writer->AddFile(item + ".csv", *source, Meta(item)));
    }
    Result<Manifest> manifest = writer->Commit();
    EXPECT_TRUE(manifest.has_value());
    clock_.Advance(1h);
    return manifest.value_or(Manifest{});
  };
  Manifest first = land({{"spending", "a\n1\n"}, {"revenue", "b\n1\n"}});
  Manifest second = land({{"spending", "a\n2\n"}});

  Result<std::optional<ManifestFile>> spending = zone.LatestFile("d", "spending");
  ASSERT_TRUE(spending.has_value()) << spending.error().message();
  ASSERT_TRUE(spending->has_value());
  EXPECT_EQ((*spending)->sha256, Sha256Hex("a\n2\n"));
  EXPECT_EQ((*spending)->sha256, second.files[0].sha256);

  Result<std::optional<ManifestFile>> revenue = zone.LatestFile("d", "revenue");
  ASSERT_TRUE(revenue.has_value());
  ASSERT_TRUE(revenue->has_value());
  EXPECT_EQ((*revenue)->sha256, first.files[1].sha256);

  Result<std::optional<ManifestFile>> unknown = zone.LatestFile("d", "other");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(unknown->has_value());
  Result<std::optional<ManifestFile>> no_dataset = zone.LatestFile("none", "spending");
  ASSERT_TRUE(no_dataset.has_value());
  EXPECT_FALSE(no_dataset->has_value());
}

TEST_P(RawZoneTest, OpenFileOfUnknownNameIsNotFound) {
  RawZone zone(store_.get(), clock_);
  Manifest manifest = Land(zone, "d", {{"a.csv", "a\n"}});
  Result<std::unique_ptr<ByteSource>> opened = zone.OpenFile(manifest, "b.csv");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(opened.error().message().find("b.csv"), std::string::npos);
}

TEST_P(RawZoneTest, UnreadableManifestIsDataErrorNamingItsKey) {
  RawZone zone(store_.get(), clock_);
  Land(zone, "d", {{"a.csv", "a\n"}});
  const std::string key = "d/2026-01-01/20260101T000000Z-000000/manifest.json";
  ASSERT_TRUE(store_->PutBytes(key, "{\"dataset\": \"d\", "));
  Result<std::vector<Manifest>> snapshots = zone.ListSnapshots("d");
  ASSERT_FALSE(snapshots.has_value());
  EXPECT_EQ(snapshots.error().code(), ErrorCode::kDataError);
  EXPECT_NE(snapshots.error().message().find("'" + key + "'"), std::string::npos)
      << snapshots.error().message();
}

TEST_P(RawZoneTest, ManifestUnderTheWrongPrefixIsDataError) {
  RawZone zone(store_.get(), clock_);
  Manifest manifest = Land(zone, "d", {{"a.csv", "a\n"}});
  const std::string key = "d/2026-01-01/copied/manifest.json";
  ASSERT_TRUE(store_->PutBytes(key, ManifestToJson(manifest)));
  Result<std::vector<Manifest>> snapshots = zone.ListSnapshots("d");
  ASSERT_FALSE(snapshots.has_value());
  EXPECT_EQ(snapshots.error().code(), ErrorCode::kDataError);
  EXPECT_NE(snapshots.error().message().find(key), std::string::npos);
}

TEST_P(RawZoneTest, OtherObjectsUnderTheDatasetAreIgnored) {
  RawZone zone(store_.get(), clock_);
  Land(zone, "d", {{"a.csv", "a\n"}});
  ASSERT_TRUE(store_->PutBytes("d/notes.txt", "hi"));
  ASSERT_TRUE(store_->PutBytes("d/2026-11-22/manifest.json", "not a snapshot"));
  ASSERT_TRUE(store_->PutBytes("d/2026-11-22/x/y/manifest.json", "not a snapshot"));
  ASSERT_TRUE(store_->PutBytes("d-other/2026-11-22/x/manifest.json", "not this dataset"));
  Result<std::vector<Manifest>> snapshots = zone.ListSnapshots("d");
  ASSERT_TRUE(snapshots.has_value()) << snapshots.error().message();
  EXPECT_EQ(snapshots->size(), 1u);
}

TEST_P(RawZoneTest, DeleteDatasetRemovesEveryObjectOfThatDatasetOnly) {
  RawZone zone(store_.get(), clock_);
  Land(zone, "sf", {{"a.csv", "a\n1\n"}, {"b.csv", "b\n"}});
  clock_.Advance(24h);
  Land(zone, "sf", {{"a.csv", "a\n2\n"}});
  Manifest other = Land(zone, "sf-other", {{"a.csv", "a\n"}});
  ASSERT_TRUE(store_->PutBytes("sf/stray.txt", "left by a crash"));

  ASSERT_TRUE(zone.DeleteDataset("sf"));
  EXPECT_TRUE(AllKeys("sf/").empty());
  Result<std::vector<Manifest>> remaining = zone.ListSnapshots("sf");
  ASSERT_TRUE(remaining.has_value());
  EXPECT_TRUE(remaining->empty());
  EXPECT_EQ(AllKeys("sf-other/").size(), 2u);
  ASSERT_TRUE(zone.DeleteDataset("never-landed"));
  if (!folder_.empty()) {
    EXPECT_FALSE(fs::exists(folder_ + "/raw/sf"));
  }
}

// --- Manifest JSON ---------------------------------------------------------------

Manifest SampleManifest() {
  Manifest manifest;
  manifest.dataset = "sf-spending-revenue";
  manifest.snapshot_id = "20261122T124450Z-3fa9c1";
  manifest.date = "2026-11-22";
  manifest.kind = "delta";
  manifest.fetched_at = "2026-11-22T12:44:50Z";
  manifest.source_urls = {"https://data.sfgov.org/resource/bpnb-jwfb.csv"};
  manifest.watermark = "2026-11-20T08:00:00.000";
  ManifestFile file;
  file.name = "bpnb-jwfb.csv";
  file.source_item = "bpnb-jwfb";
  file.source_url = "https://data.sfgov.org/resource/bpnb-jwfb.csv";
  file.bytes = 123456789012ull;
  file.sha256 = Sha256Hex("x");
  file.rows = 987654;
  file.etag = "W/\"abc\"";
  file.last_modified = "Sat, 21 Nov 2026 10:00:00 GMT";
  file.rows_updated_at = "2026-11-21T09:59:00Z";
  manifest.files = {file, file};
  manifest.files[1].name = "caf\xC3\xA9.csv";
  return manifest;
}

TEST(Manifest, JsonRoundTripsEveryField) {
  Manifest manifest = SampleManifest();
  std::string json = ManifestToJson(manifest);
  EXPECT_NE(json.find("\n  \"dataset\": \"sf-spending-revenue\""), std::string::npos) << json;
  Result<Manifest> parsed = ManifestFromJson(json);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_EQ(parsed->dataset, manifest.dataset);
  EXPECT_EQ(parsed->snapshot_id, manifest.snapshot_id);
  EXPECT_EQ(parsed->date, manifest.date);
  EXPECT_EQ(parsed->kind, "delta");
  EXPECT_EQ(parsed->fetched_at, manifest.fetched_at);
  EXPECT_EQ(parsed->source_urls, manifest.source_urls);
  EXPECT_EQ(parsed->watermark, manifest.watermark);
  ASSERT_EQ(parsed->files.size(), 2u);
  const ManifestFile& file = parsed->files[0];
  EXPECT_EQ(file.name, "bpnb-jwfb.csv");
  EXPECT_EQ(file.source_item, "bpnb-jwfb");
  EXPECT_EQ(file.source_url, manifest.files[0].source_url);
  EXPECT_EQ(file.bytes, 123456789012ull);
  EXPECT_EQ(file.sha256, Sha256Hex("x"));
  EXPECT_EQ(file.rows, 987654u);
  EXPECT_EQ(file.etag, "W/\"abc\"");
  EXPECT_EQ(file.last_modified, manifest.files[0].last_modified);
  EXPECT_EQ(file.rows_updated_at, manifest.files[0].rows_updated_at);
  EXPECT_EQ(parsed->files[1].name, "caf\xC3\xA9.csv");
  EXPECT_EQ(ManifestToJson(*parsed), json);
  EXPECT_EQ(parsed->prefix(), "sf-spending-revenue/2026-11-22/20261122T124450Z-3fa9c1/");
}

// Replaces the first occurrence of `from` in the sample manifest's JSON.
std::string SampleJsonWith(const std::string& from, const std::string& to) {
  std::string json = ManifestToJson(SampleManifest());
  size_t at = json.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) json.replace(at, from.size(), to);
  return json;
}

TEST(Manifest, ErrorsNameTheMissingOrInvalidField) {
  struct Case {
    std::string from, to, field;
  };
  const std::vector<Case> cases = {
      {"\"dataset\": ", "\"dataset_renamed\": ", "'dataset' is missing"},
      {"\"snapshot_id\": \"20261122T124450Z-3fa9c1\"", "\"snapshot_id\": 7",
       "'snapshot_id' must be a string"},
      {"\"kind\": \"delta\"", "\"kind\": \"weekly\"", "'kind' must be"},
      {"\"files\": ", "\"files_renamed\": ", "'files' is missing"},
      {"\"sha256\": ", "\"hash\": ", "'files[0].sha256' is missing"},
      {"\"bytes\": 123456789012", "\"bytes\": -1",
       "'files[0].bytes' must be a non-negative integer"},
      {"\"rows\": 987654", "\"rows\": \"many\"", "'files[0].rows' must be a non-negative integer"},
      {"\"source_urls\": [\n    \"", "\"source_urls\": [\n    3, \"", "'source_urls[0]'"},
  };
  for (const Case& c : cases) {
    Result<Manifest> parsed = ManifestFromJson(SampleJsonWith(c.from, c.to));
    ASSERT_FALSE(parsed.has_value()) << c.field;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kDataError);
    EXPECT_NE(parsed.error().message().find(c.field), std::string::npos)
        << "want " << c.field << " in: " << parsed.error().message();
  }
}

TEST(Manifest, OptionalFieldsDefaultWhenAbsent) {
  Result<Manifest> parsed = ManifestFromJson(R"({
    "dataset": "d", "snapshot_id": "s", "date": "2026-01-01",
    "fetched_at": "2026-01-01T00:00:00Z",
    "files": [{"name": "a.csv", "bytes": 1, "sha256": "ab", "rows": 0}]
  })");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_EQ(parsed->kind, "full");
  EXPECT_TRUE(parsed->source_urls.empty());
  EXPECT_EQ(parsed->watermark, "");
  EXPECT_EQ(parsed->files.at(0).etag, "");
}

TEST(Manifest, TextThatIsNotAManifestIsDataError) {
  for (const char* text : {"", "{", "[1, 2]", "\"text\"", "{\"files\": 3}"}) {
    Result<Manifest> parsed = ManifestFromJson(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kDataError) << text;
    EXPECT_TRUE(parsed.error().message().starts_with("The manifest")) << parsed.error().message();
  }
}

}  // namespace
}  // namespace citybooks

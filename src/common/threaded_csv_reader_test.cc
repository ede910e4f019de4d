#include "common/threaded_csv_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/byte_source.h"
#include "common/csv_reader.h"
#include "common/csv_test_support.h"

namespace citybooks {
namespace {

// Every record, then the error that ended the input (if one did).
struct Outcome {
  std::vector<Parsed> records;
  std::string error;
  bool operator==(const Outcome&) const = default;
};

template <typename Reader>
Outcome Drain(Reader& reader) {
  Outcome outcome;
  CsvRecord record;
  while (true) {
    Result<bool> more = reader.Next(&record);
    if (!more) {
      outcome.error = more.error().message();
      break;
    }
    if (!*more) break;
    outcome.records.push_back(Copy(record));
  }
  return outcome;
}

// Gives `good` bytes `chunk` at a time, then fails like a dropped connection.
class FlakySource : public ByteSource {
 public:
  FlakySource(std::string good, size_t chunk, bool fail)
      : good_(std::move(good)), chunk_(chunk), fail_(fail) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    ++reads;
    if (offset_ == good_.size()) {
      if (fail_) return Fail(ErrorCode::kUnavailable, "connection reset by peer");
      return 0;
    }
    const size_t n = std::min({size, chunk_, good_.size() - offset_});
    std::copy_n(good_.data() + offset_, n, buffer);
    offset_ += n;
    return n;
  }
  std::string_view name() const override { return "https://example.test/flaky.csv"; }
  std::atomic<int> reads = 0;

 private:
  std::string good_;
  size_t chunk_;
  size_t offset_ = 0;
  bool fail_;
};

Outcome Plain(const std::string& csv, CsvOptions options, size_t chunk, bool fail) {
  CsvReader reader(std::make_unique<FlakySource>(csv, chunk, fail), options);
  return Drain(reader);
}

Outcome Threaded(const std::string& csv, ThreadedCsvOptions options, size_t chunk, bool fail) {
  ThreadedCsvReader reader(std::make_unique<FlakySource>(csv, chunk, fail), options);
  Outcome outcome = Drain(reader);
  // The end stays the end.
  CsvRecord record;
  Result<bool> again = reader.Next(&record);
  if (again && *again) ADD_FAILURE() << "a record after the end";
  return outcome;
}

TEST(ThreadedCsvReader, YieldsWhatCsvReaderYieldsOnTrickyInput) {
  const std::string csv =
      "\xEF\xBB\xBFid,name,note\r\n"
      "1,\"Acme, Inc.\",\"said \"\"hi\"\"\"\r\n"
      "2,\"two\nlines\",plain\n"
      "\n"
      "3,\"after\"quote,x\n"
      "4,unterminated,\"runs to the end\n";
  for (size_t batch_records : {1, 2, 3, 100}) {
    for (size_t chunk : {1, 5, 1 << 20}) {
      ThreadedCsvOptions options;
      options.max_batch_records = batch_records;
      options.csv.read_bytes = 7;
      SCOPED_TRACE("batch " + std::to_string(batch_records) + " chunk " + std::to_string(chunk));
      Outcome expected = Plain(csv, options.csv, chunk, false);
      ASSERT_EQ(expected.records.size(), 6u);
      EXPECT_EQ(expected.records[1].fields[2], "said \"hi\"");
      EXPECT_EQ(Threaded(csv, options, chunk, false), expected);
    }
  }
}

TEST(ThreadedCsvReader, MatchesCsvReaderOnRandomInput) {
  std::mt19937 random(20261122);
  const std::string alphabet = "aaaaabbbb',,,,\"\"\n\n\r";
  for (int round = 0; round < 400; ++round) {
    std::string csv;
    const size_t length = random() % 400;
    for (size_t i = 0; i < length; ++i) csv += alphabet[random() % alphabet.size()];
    ThreadedCsvOptions options;
    options.csv.max_record_bytes = std::vector<size_t>{5, 40, 1 << 20}[random() % 3];
    options.csv.read_bytes = 1 + random() % 64;
    options.max_batch_records = 1 + random() % 7;
    options.max_batch_bytes = 1 + random() % 100;
    const bool fail = random() % 3 == 0;
    SCOPED_TRACE(testing::PrintToString(csv));
    ASSERT_EQ(Threaded(csv, options, 1 + random() % 50, fail),
              Plain(csv, options.csv, 1 + random() % 50, fail));
  }
}

TEST(ThreadedCsvReader, DeliversEveryRecordBeforeTheSourceError) {
  Outcome outcome = Threaded("a,b\n1,2\n3,", {}, 3, true);
  ASSERT_EQ(outcome.records.size(), 2u);
  EXPECT_EQ(outcome.records[1].fields, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(outcome.error, "https://example.test/flaky.csv: connection reset by peer");
}

TEST(ThreadedCsvReader, CountsBytesUpToTheLastBatchHandedOver) {
  std::string csv = "h\n";
  for (int i = 0; i < 1000; ++i) csv += std::to_string(i) + "\n";
  ThreadedCsvOptions options;
  options.max_batch_records = 10;
  ThreadedCsvReader reader(MakeViewSource(csv), options);
  EXPECT_EQ(reader.source_name(), "<memory>");
  CsvRecord record;
  uint64_t last = 0;
  size_t records = 0;
  while (true) {
    Result<bool> more = reader.Next(&record);
    ASSERT_TRUE(more.has_value());
    if (!*more) break;
    ++records;
    EXPECT_GE(reader.bytes_read(), last);
    last = reader.bytes_read();
  }
  EXPECT_EQ(records, 1001u);
  EXPECT_EQ(reader.bytes_read(), csv.size());
}

TEST(ThreadedCsvReader, ReadsOnlyAFewBatchesAheadAndStopsWhenDestroyed) {
  std::string csv;
  for (int i = 0; i < 200000; ++i) csv += "row," + std::to_string(i) + "\n";
  auto source = std::make_unique<FlakySource>(csv, 64, false);
  FlakySource* watched = source.get();
  int reads_ahead = 0;
  {
    ThreadedCsvOptions options;
    options.max_batch_records = 100;
    options.csv.read_bytes = 64;
    ThreadedCsvReader reader(std::move(source), options);
    CsvRecord record;
    ASSERT_EQ(reader.Next(&record), true);
    EXPECT_EQ(record.fields[1], "0");
    // Give the thread time to run ahead as far as it may.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reads_ahead = watched->reads.load();
  }  // joins the thread, which stops after the batch it is filling
  // A few batches of 100 short records: far from the 2.6 MB input.
  EXPECT_LT(reads_ahead, 200);
}

}  // namespace
}  // namespace citybooks

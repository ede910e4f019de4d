#include "common/csv_prefetch.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

std::string ManyRecords(int n) {
  std::string text = "a,b,c\n";
  for (int i = 0; i < n; ++i)
    text += std::to_string(i) + ",\"x, " + std::to_string(i) + "\",\"q\"\"uote\nline\"\r\n";
  return text;
}

TEST(PrefetchingCsvReader, YieldsExactlyWhatCsvReaderYields) {
  std::string text = ManyRecords(10000);  // several batches
  CsvReader plain(MakeViewSource(text));
  PrefetchingCsvReader prefetching(MakeViewSource(text));
  CsvRecord a, b;
  int records = 0;
  while (true) {
    auto more_a = plain.Next(&a);
    auto more_b = prefetching.Next(&b);
    ASSERT_TRUE(more_a && more_b);
    ASSERT_EQ(*more_a, *more_b);
    if (!*more_a) break;
    ++records;
    ASSERT_EQ(a.fields, b.fields);
    ASSERT_EQ(a.raw, b.raw);
    ASSERT_EQ(a.first_line, b.first_line);
    ASSERT_EQ(a.last_line, b.last_line);
    ASSERT_EQ(a.index, b.index);
  }
  EXPECT_EQ(records, 10001);
  EXPECT_EQ(prefetching.bytes_read(), text.size());
}

// A source that fails after some bytes, like a read error mid-file.
class FailingSource : public ByteSource {
 public:
  explicit FailingSource(std::string bytes) : bytes_(std::move(bytes)) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    if (offset_ >= bytes_.size()) return Fail(ErrorCode::kIoError, "disk went away");
    size_t n = std::min(size, bytes_.size() - offset_);
    std::copy_n(bytes_.data() + offset_, n, buffer);
    offset_ += n;
    return n;
  }
  std::string_view name() const override { return "failing"; }

 private:
  std::string bytes_;
  size_t offset_ = 0;
};

TEST(PrefetchingCsvReader, ReportsTheSourceErrorAfterTheRecordsBeforeIt) {
  PrefetchingCsvReader reader(std::make_unique<FailingSource>(ManyRecords(5000)));
  CsvRecord record;
  int records = 0;
  while (true) {
    auto more = reader.Next(&record);
    if (!more) {
      EXPECT_NE(more.error().message().find("disk went away"), std::string::npos);
      break;
    }
    ASSERT_TRUE(*more) << "the error must not read as a clean end";
    ++records;
  }
  EXPECT_GE(records, 4096);
}

TEST(PrefetchingCsvReader, StopsCleanlyWhenAbandonedEarly) {
  std::string text = ManyRecords(50000);
  PrefetchingCsvReader reader(MakeViewSource(text));
  CsvRecord record;
  ASSERT_TRUE(*reader.Next(&record));
  // Destroying it now must not hang or crash while the producer is blocked.
}

}  // namespace
}  // namespace citybooks

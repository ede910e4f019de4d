#include "common/csv_reader.h"

#include <gtest/gtest.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/byte_source.h"
#include "common/csv_test_support.h"

namespace citybooks {
namespace {

Result<std::vector<Parsed>> ReadAll(std::unique_ptr<ByteSource> source, CsvOptions options = {}) {
  CsvReader reader(std::move(source), options);
  std::vector<Parsed> records;
  CsvRecord record;
  while (true) {
    CB_ASSIGN_OR_RETURN(bool more, reader.Next(&record));
    if (!more) break;
    records.push_back(Copy(record));
  }
  // The end stays the end.
  CB_ASSIGN_OR_RETURN(bool more, reader.Next(&record));
  if (more) return Fail(ErrorCode::kInternal, "a record after the end");
  return records;
}

std::vector<Parsed> ReadAll(std::string_view csv, CsvOptions options = {}) {
  Result<std::vector<Parsed>> records = ReadAll(MakeViewSource(csv), options);
  EXPECT_TRUE(records.has_value()) << records.error().message();
  return records ? *records : std::vector<Parsed>{};
}

std::vector<std::vector<std::string>> Fields(std::string_view csv, CsvOptions options = {}) {
  std::vector<std::vector<std::string>> fields;
  for (Parsed& record : ReadAll(csv, options)) fields.push_back(std::move(record.fields));
  return fields;
}

Parsed Record(std::vector<std::string> fields, std::string raw, uint64_t first_line,
              uint64_t last_line, uint64_t index, CsvProblem problem = CsvProblem::kNone) {
  return Parsed{std::move(fields), std::move(raw), first_line, last_line, index, problem};
}

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvReader, ReadsRecordsWithLineNumbersAndIndexes) {
  EXPECT_EQ(ReadAll("a,b,c\n1,2,3\n"), (std::vector<Parsed>{
                                           Record({"a", "b", "c"}, "a,b,c", 1, 1, 0),
                                           Record({"1", "2", "3"}, "1,2,3", 2, 2, 1),
                                       }));
}

TEST(CsvReader, ReadsFinalRecordWithoutLineEnd) {
  EXPECT_EQ(Fields("a,b\n1,2"), (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(Fields("a,b\n1,"), (Rows{{"a", "b"}, {"1", ""}}));
}

TEST(CsvReader, SkipsLeadingUtf8Bom) {
  EXPECT_EQ(ReadAll("\xEF\xBB\xBF"
                    "year,amount\n2024,1\n"),
            (std::vector<Parsed>{
                Record({"year", "amount"}, "year,amount", 1, 1, 0),
                Record({"2024", "1"}, "2024,1", 2, 2, 1),
            }));
  // The mark split over three reads is still a mark.
  EXPECT_EQ(Fields("\xEF\xBB\xBF\"q\",x\n", {.read_bytes = 1}), (Rows{{"q", "x"}}));
  // A mark alone is an empty input.
  EXPECT_TRUE(ReadAll("\xEF\xBB\xBF").empty());
}

TEST(CsvReader, KeepsBomLikeBytesThatAreNotABom) {
  EXPECT_EQ(Fields("\xEF\xBB"), (Rows{{"\xEF\xBB"}}));
  EXPECT_EQ(Fields("\xEF\xBBx,y\n"), (Rows{{"\xEF\xBBx", "y"}}));
  // Only the first bytes of the input can be a mark.
  EXPECT_EQ(Fields("a\n\xEF\xBB\xBF"
                   "b\n"),
            (Rows{{"a"},
                  {"\xEF\xBB\xBF"
                   "b"}}));
}

TEST(CsvReader, AcceptsCrlfLineEnds) {
  EXPECT_EQ(ReadAll("a,b\r\n1,\"2\"\r\n3,\r\n"), (std::vector<Parsed>{
                                                     Record({"a", "b"}, "a,b", 1, 1, 0),
                                                     Record({"1", "2"}, "1,\"2\"", 2, 2, 1),
                                                     Record({"3", ""}, "3,", 3, 3, 2),
                                                 }));
}

TEST(CsvReader, TreatsBareCarriageReturnAsContent) {
  EXPECT_EQ(Fields("a\rb,c\n"), (Rows{{"a\rb", "c"}}));
  EXPECT_EQ(Fields("a,b\r"), (Rows{{"a", "b\r"}}));
}

TEST(CsvReader, QuotedFieldsHoldDelimitersAndLineBreaks) {
  EXPECT_EQ(ReadAll("id,name\n1,\"Public Works, Transportation & Commerce\"\n"
                    "2,\"line one\nline two\r\nline three\"\n3,x\n"),
            (std::vector<Parsed>{
                Record({"id", "name"}, "id,name", 1, 1, 0),
                Record({"1", "Public Works, Transportation & Commerce"},
                       "1,\"Public Works, Transportation & Commerce\"", 2, 2, 1),
                Record({"2", "line one\nline two\r\nline three"},
                       "2,\"line one\nline two\r\nline three\"", 3, 5, 2),
                Record({"3", "x"}, "3,x", 6, 6, 3),
            }));
}

TEST(CsvReader, CollapsesDoubledQuotes) {
  EXPECT_EQ(Fields("\"say \"\"hi\"\"\",\"\"\"\",\"\"\"\"\"\",\"\"\n"),
            (Rows{{"say \"hi\"", "\"", "\"\"", ""}}));
}

TEST(CsvReader, SingleQuotesAreOrdinaryCharacters) {
  EXPECT_EQ(Fields("'Parklets' Permit Fee,'a,b'\n"), (Rows{{"'Parklets' Permit Fee", "'a", "b'"}}));
}

TEST(CsvReader, QuoteInsideUnquotedFieldIsLiteral) {
  EXPECT_EQ(ReadAll("5'2\" tall,a\"b\"c,x\ny\n"),
            (std::vector<Parsed>{
                Record({"5'2\" tall", "a\"b\"c", "x"}, "5'2\" tall,a\"b\"c,x", 1, 1, 0),
                Record({"y"}, "y", 2, 2, 1),
            }));
}

TEST(CsvReader, TextAfterClosingQuoteIsAppendedLiterally) {
  EXPECT_EQ(Fields("\"ab\"cd,\"x\" y \"z\",\"q\"\"\"r\n\"e\"f\r\n"),
            (Rows{{"abcd", "x y \"z\"", "q\"r"}, {"ef"}}));
}

TEST(CsvReader, UnterminatedQuoteIsReportedThenInputEnds) {
  EXPECT_EQ(ReadAll("a,b\n1,\"open \"\"x\"\" and,\nmore\n"),
            (std::vector<Parsed>{
                Record({"a", "b"}, "a,b", 1, 1, 0),
                Record({"1", "open \"x\" and,\nmore\n"}, "1,\"open \"\"x\"\" and,\nmore\n", 2, 4, 1,
                       CsvProblem::kUnterminatedQuote),
            }));
}

TEST(CsvReader, EmptyInputHasNoRecords) { EXPECT_TRUE(ReadAll("").empty()); }

TEST(CsvReader, HeaderOnlyIsOneRecord) {
  EXPECT_EQ(Fields("a,b"), (Rows{{"a", "b"}}));
  EXPECT_EQ(Fields("a,b\n"), (Rows{{"a", "b"}}));
  EXPECT_EQ(Fields("a,b\r\n"), (Rows{{"a", "b"}}));
}

TEST(CsvReader, FinalLineBreakDoesNotStartARecord) {
  EXPECT_EQ(Fields("a\n1\n"), (Rows{{"a"}, {"1"}}));
  EXPECT_EQ(Fields("\n"), (Rows{{""}}));
}

TEST(CsvReader, BlankLinesInTheMiddleAreRecordsWithOneEmptyField) {
  EXPECT_EQ(ReadAll("a\n\n\r\nb\n\n"), (std::vector<Parsed>{
                                           Record({"a"}, "a", 1, 1, 0),
                                           Record({""}, "", 2, 2, 1),
                                           Record({""}, "", 3, 3, 2),
                                           Record({"b"}, "b", 4, 4, 3),
                                           Record({""}, "", 5, 5, 4),
                                       }));
}

TEST(CsvReader, UsesConfiguredDelimiter) {
  EXPECT_EQ(Fields("a\tb,c\t\"d\te\"\n", {.delimiter = '\t'}), (Rows{{"a", "b,c", "d\te"}}));
}

TEST(CsvReader, FieldsPointIntoTheReadBufferUnlessQuotesAreDoubled) {
  CsvReader reader(MakeViewSource("plain,\"quoted, simply\",\"dou\"\"bled\"\n"));
  CsvRecord record;
  ASSERT_EQ(reader.Next(&record), true);
  ASSERT_EQ(record.fields.size(), 3u);
  auto inside_raw = [&](std::string_view field) {
    return field.data() >= record.raw.data() &&
           field.data() + field.size() <= record.raw.data() + record.raw.size();
  };
  EXPECT_TRUE(inside_raw(record.fields[0]));
  EXPECT_TRUE(inside_raw(record.fields[1]));
  EXPECT_FALSE(inside_raw(record.fields[2]));
  EXPECT_EQ(record.fields[2], "dou\"bled");
}

TEST(CsvReader, ReportsTooLongRecordThenContinuesWithTheNext) {
  // The long record holds a quoted line break and quoted delimiters, which
  // the skip must honour; its line numbers still count them.
  const std::string long_record = "2,\"" + std::string(30, 'x') + "\n" + std::string(10, 'y') +
                                  ",\"\"\n\"\"" + std::string(5, 'z') + "\",end";
  const std::string csv = "id,text\n1,short\n" + long_record + "\r\n3,after\n";
  for (size_t read_bytes : {1, 2, 3, 5, 7, 16, 1 << 20}) {
    SCOPED_TRACE(read_bytes);
    EXPECT_EQ(ReadAll(csv, {.max_record_bytes = 16, .read_bytes = read_bytes}),
              (std::vector<Parsed>{
                  Record({"id", "text"}, "id,text", 1, 1, 0),
                  Record({"1", "short"}, "1,short", 2, 2, 1),
                  Record({}, long_record.substr(0, 16), 3, 5, 2, CsvProblem::kTooLong),
                  Record({"3", "after"}, "3,after", 6, 6, 3),
              }));
  }
}

TEST(CsvReader, RecordOfExactlyMaxBytesIsAccepted) {
  // 8 bytes of content; the CRLF does not count.
  EXPECT_EQ(ReadAll("abcd,efg\r\nabcd,efgh\r\nabcd,efg", {.max_record_bytes = 8, .read_bytes = 3}),
            (std::vector<Parsed>{
                Record({"abcd", "efg"}, "abcd,efg", 1, 1, 0),
                Record({}, "abcd,efg", 2, 2, 1, CsvProblem::kTooLong),
                Record({"abcd", "efg"}, "abcd,efg", 3, 3, 2),
            }));
  EXPECT_EQ(ReadAll("abcd,efgh", {.max_record_bytes = 8}),
            (std::vector<Parsed>{Record({}, "abcd,efg", 1, 1, 0, CsvProblem::kTooLong)}));
}

TEST(CsvReader, TooLongUnterminatedQuoteEndsTheInput) {
  EXPECT_EQ(ReadAll("a\n\"" + std::string(100, 'q') + "\nx,y\n", {.max_record_bytes = 10}),
            (std::vector<Parsed>{
                Record({"a"}, "a", 1, 1, 0),
                Record({}, "\"" + std::string(9, 'q'), 2, 4, 1, CsvProblem::kTooLong),
            }));
}

// Serves a CSV of literal pieces and long runs of one byte without holding it:
// a 50 MB line costs no 50 MB buffer in the test. Records the largest read
// asked for and the largest heap in use while the reader reads.
class GeneratedSource : public ByteSource {
 public:
  struct Piece {
    std::string text{};  // literal bytes, or
    char fill = 0;       // `count` copies of `fill` when `text` is empty
    uint64_t count = 0;
  };

  explicit GeneratedSource(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}

  Result<size_t> Read(char* buffer, size_t size) override {
    largest_read_ = std::max(largest_read_, size);
    SampleHeap();
    size_t written = 0;
    while (written < size && piece_ < pieces_.size()) {
      const Piece& piece = pieces_[piece_];
      const uint64_t length = piece.text.empty() ? piece.count : piece.text.size();
      const size_t n = static_cast<size_t>(std::min<uint64_t>(size - written, length - offset_));
      if (piece.text.empty()) {
        std::fill_n(buffer + written, n, piece.fill);
      } else {
        std::copy_n(piece.text.data() + offset_, n, buffer + written);
      }
      written += n;
      offset_ += n;
      if (offset_ == length) {
        ++piece_;
        offset_ = 0;
      }
    }
    return written;
  }

  std::string_view name() const override { return "generated"; }

  size_t largest_read() const { return largest_read_; }
  size_t peak_heap() const { return peak_heap_; }

  static size_t HeapInUse() {
#if defined(__GLIBC__)
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    return 0;
#endif
  }

 private:
  void SampleHeap() { peak_heap_ = std::max(peak_heap_, HeapInUse()); }

  std::vector<Piece> pieces_;
  size_t piece_ = 0;
  uint64_t offset_ = 0;
  size_t largest_read_ = 0;
  size_t peak_heap_ = 0;
};

TEST(CsvReader, FiftyMegabyteLineIsSkippedWithBoundedMemory) {
  constexpr uint64_t kLineBytes = uint64_t{50} << 20;
  constexpr size_t kMaxRecordBytes = size_t{1} << 20;
  for (size_t read_bytes : {size_t{64} << 10, size_t{1} << 20}) {
    SCOPED_TRACE(read_bytes);
    const size_t heap_before = GeneratedSource::HeapInUse();
    auto owned = std::make_unique<GeneratedSource>(std::vector<GeneratedSource::Piece>{
        {.text = "id,blob\n1,"},
        {.fill = 'x', .count = kLineBytes},
        {.text = "\n2,after\n"},
    });
    GeneratedSource* source = owned.get();
    CsvReader reader(std::move(owned),
                     {.max_record_bytes = kMaxRecordBytes, .read_bytes = read_bytes});
    CsvRecord record;
    ASSERT_EQ(reader.Next(&record), true);
    EXPECT_EQ(record.fields, (std::vector<std::string_view>{"id", "blob"}));

    ASSERT_EQ(reader.Next(&record), true);
    EXPECT_EQ(record.problem, CsvProblem::kTooLong);
    EXPECT_TRUE(record.fields.empty());
    ASSERT_EQ(record.raw.size(), kMaxRecordBytes);
    EXPECT_EQ(record.raw.substr(0, 4), "1,xx");
    EXPECT_EQ(record.first_line, 2u);
    EXPECT_EQ(record.last_line, 2u);
    EXPECT_EQ(record.index, 1u);

    ASSERT_EQ(reader.Next(&record), true);
    EXPECT_EQ(record.problem, CsvProblem::kNone);
    EXPECT_EQ(record.fields, (std::vector<std::string_view>{"2", "after"}));
    EXPECT_EQ(record.first_line, 3u);
    EXPECT_EQ(record.index, 2u);
    EXPECT_EQ(reader.Next(&record), false);

    EXPECT_EQ(reader.bytes_read(), 10 + kLineBytes + 9);
    EXPECT_LE(source->largest_read(), read_bytes);
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    // About read_bytes + max_record_bytes, nowhere near the 50 MB of the line.
    EXPECT_LT(std::max(source->peak_heap(), heap_before) - heap_before,
              kMaxRecordBytes + read_bytes + (size_t{1} << 20));
#else
    (void)heap_before;
#endif
  }
}

// Everything at once: a BOM, CRLF and LF, quoted delimiters and line breaks,
// doubled and stray quotes, single quotes, blank lines, and a quote left open.
const char kTrickyCsv[] =
    "\xEF\xBB\xBF"
    "fiscal_year,department,amount\r\n"
    "2023,\"Public Works, Transportation & Commerce\",12.50\r\n"
    "2023,'Parklets' Permit Fee,3\n"
    "\n"
    "2024,\"multi\r\nline \"\"quoted\"\"\nvalue\",7\n"
    "2024,5'2\" tall,\"closed\"after,x\n"
    "\"\",,\n"
    "\r\n"
    "last,\"unterminated\nstill going";

std::vector<Parsed> TrickyRecords() {
  return {
      Record({"fiscal_year", "department", "amount"}, "fiscal_year,department,amount", 1, 1, 0),
      Record({"2023", "Public Works, Transportation & Commerce", "12.50"},
             "2023,\"Public Works, Transportation & Commerce\",12.50", 2, 2, 1),
      Record({"2023", "'Parklets' Permit Fee", "3"}, "2023,'Parklets' Permit Fee,3", 3, 3, 2),
      Record({""}, "", 4, 4, 3),
      Record({"2024", "multi\r\nline \"quoted\"\nvalue", "7"},
             "2024,\"multi\r\nline \"\"quoted\"\"\nvalue\",7", 5, 7, 4),
      Record({"2024", "5'2\" tall", "closedafter", "x"}, "2024,5'2\" tall,\"closed\"after,x", 8, 8,
             5),
      Record({"", "", ""}, "\"\",,", 9, 9, 6),
      Record({""}, "", 10, 10, 7),
      Record({"last", "unterminated\nstill going"}, "last,\"unterminated\nstill going", 11, 12, 8,
             CsvProblem::kUnterminatedQuote),
  };
}

TEST(CsvReader, RecordsSplitAcrossReadsParseTheSame) {
  for (size_t read_bytes = 1; read_bytes <= 7; ++read_bytes) {
    SCOPED_TRACE(read_bytes);
    EXPECT_EQ(ReadAll(kTrickyCsv, {.read_bytes = read_bytes}), TrickyRecords());
  }
  EXPECT_EQ(ReadAll(kTrickyCsv), TrickyRecords());
}

// The grammar one byte at a time, as plainly as it can be written: the
// reference the fast reader must match on every input.
std::vector<Parsed> ReferenceParse(std::string_view csv, char delimiter, size_t max_record_bytes) {
  if (csv.starts_with("\xEF\xBB\xBF")) csv.remove_prefix(3);
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  std::vector<Parsed> records;
  uint64_t line = 1;
  size_t i = 0;
  while (i < csv.size()) {
    const size_t start = i;
    Parsed record;
    std::string field;
    State state = State::kFieldStart;
    uint64_t newlines = 0;
    bool ended = false;
    for (; i < csv.size() && !ended; ++i) {
      const char c = csv[i];
      switch (state) {
        case State::kFieldStart:
          if (c == '"') {
            state = State::kQuoted;
            break;
          }
          state = State::kUnquoted;
          [[fallthrough]];
        case State::kUnquoted:
          if (c == delimiter) {
            record.fields.push_back(std::exchange(field, ""));
            state = State::kFieldStart;
          } else if (c == '\n') {
            ended = true;
          } else {
            field += c;
          }
          break;
        case State::kQuoted:
          if (c == '"') {
            state = State::kQuoteInQuoted;
          } else {
            newlines += c == '\n';
            field += c;
          }
          break;
        case State::kQuoteInQuoted:
          if (c == '"') {
            field += c;
            state = State::kQuoted;
          } else if (c == delimiter) {
            record.fields.push_back(std::exchange(field, ""));
            state = State::kFieldStart;
          } else if (c == '\n') {
            ended = true;
          } else {
            field += c;
            state = State::kUnquoted;
          }
          break;
      }
    }
    size_t content_end = ended ? i - 1 : i;
    if (ended && content_end > start && csv[content_end - 1] == '\r') {
      --content_end;
      field.pop_back();
    }
    record.fields.push_back(field);
    if (!ended && state == State::kQuoted) record.problem = CsvProblem::kUnterminatedQuote;
    record.raw = csv.substr(start, content_end - start);
    if (record.raw.size() > max_record_bytes) {
      record.fields.clear();
      record.raw.resize(max_record_bytes);
      record.problem = CsvProblem::kTooLong;
    }
    record.first_line = line;
    record.last_line = line + newlines;
    record.index = records.size();
    line = record.last_line + 1;
    records.push_back(std::move(record));
  }
  return records;
}

TEST(CsvReader, MatchesByteAtATimeReferenceOnRandomInput) {
  std::mt19937 random(20240930);
  const std::string alphabet = "aaaaab',,,;\"\"\"\n\n\n\r\r\xEF";
  for (int round = 0; round < 3000; ++round) {
    std::string csv = random() % 5 == 0 ? "\xEF\xBB\xBF" : "";
    const size_t length = random() % 48;
    for (size_t i = 0; i < length; ++i) csv += alphabet[random() % alphabet.size()];
    const char delimiter = random() % 4 == 0 ? ';' : ',';
    const size_t max_record_bytes = std::vector<size_t>{3, 8, 17, 1 << 20}[random() % 4];
    const size_t read_bytes = 1 + random() % 9;
    SCOPED_TRACE(testing::PrintToString(csv) + " delimiter " + delimiter + " max " +
                 std::to_string(max_record_bytes) + " read " + std::to_string(read_bytes));
    const std::vector<Parsed> expected = ReferenceParse(csv, delimiter, max_record_bytes);
    ASSERT_EQ(ReadAll(csv, {.delimiter = delimiter,
                            .max_record_bytes = max_record_bytes,
                            .read_bytes = read_bytes}),
              expected);
    CsvRecordCounter counter(delimiter);
    for (size_t offset = 0; offset < csv.size(); offset += read_bytes) {
      counter.Feed(std::string_view(csv).substr(offset, read_bytes));
    }
    ASSERT_EQ(counter.Finish(), expected.size());
  }
}

TEST(CsvReader, ReadsFromAnOwnedString) {
  Result<std::vector<Parsed>> records =
      ReadAll(MakeStringSource(kTrickyCsv, "tricky.csv"), {.read_bytes = 3});
  ASSERT_TRUE(records.has_value()) << records.error().message();
  EXPECT_EQ(*records, TrickyRecords());
}

// Gives `good` bytes, then fails the way a dropped connection does.
class FailingSource : public ByteSource {
 public:
  explicit FailingSource(std::string good) : good_(std::move(good)) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    if (good_.empty()) return Fail(ErrorCode::kUnavailable, "connection reset by peer");
    const size_t n = std::min(size, good_.size());
    std::copy_n(good_.data(), n, buffer);
    good_.erase(0, n);
    return n;
  }
  std::string_view name() const override { return "https://data.sfgov.org/sf.csv"; }

 private:
  std::string good_;
};

TEST(CsvReader, PropagatesSourceErrorsNamingTheSource) {
  CsvReader reader(std::make_unique<FailingSource>("a,b\n1,2\n3,"));
  EXPECT_EQ(reader.source_name(), "https://data.sfgov.org/sf.csv");
  CsvRecord record;
  ASSERT_EQ(reader.Next(&record), true);
  ASSERT_EQ(reader.Next(&record), true);
  EXPECT_EQ(record.fields, (std::vector<std::string_view>{"1", "2"}));
  Result<bool> failed = reader.Next(&record);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(failed.error().retryable());
  EXPECT_EQ(failed.error().message(), "https://data.sfgov.org/sf.csv: connection reset by peer");
  EXPECT_EQ(reader.bytes_read(), 10u);
}

std::filesystem::path TempPath(std::string_view name) {
  return std::filesystem::path(testing::TempDir()) / name;
}

TEST(ByteSource, FileSourceReadsTheFile) {
  const std::filesystem::path path = TempPath("citybooks_csv_reader_test.csv");
  std::ofstream(path, std::ios::binary) << kTrickyCsv;
  Result<std::unique_ptr<ByteSource>> source = OpenFileSource(path.string());
  ASSERT_TRUE(source.has_value()) << source.error().message();
  EXPECT_EQ((*source)->name(), path.string());
  Result<std::vector<Parsed>> records = ReadAll(std::move(*source), {.read_bytes = 5});
  ASSERT_TRUE(records.has_value()) << records.error().message();
  EXPECT_EQ(*records, TrickyRecords());
  std::filesystem::remove(path);
}

TEST(ByteSource, MissingFileIsNotFoundAndNamed) {
  const std::string path = TempPath("citybooks_no_such_file.csv").string();
  Result<std::unique_ptr<ByteSource>> source = OpenFileSource(path);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(source.error().message().find(path), std::string::npos) << source.error().message();
}

TEST(ByteSource, DirectoryIsAnIoErrorAndNamed) {
  const std::string path = testing::TempDir();
  Result<std::unique_ptr<ByteSource>> source = OpenFileSource(path);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code(), ErrorCode::kIoError);
  EXPECT_NE(source.error().message().find(path), std::string::npos) << source.error().message();
}

TEST(ByteSource, ViewSourceServesBytesInPieces) {
  std::unique_ptr<ByteSource> source = MakeViewSource("abcde", "view");
  EXPECT_EQ(source->name(), "view");
  char buffer[3];
  EXPECT_EQ(source->Read(buffer, 3), 3u);
  EXPECT_EQ(std::string_view(buffer, 3), "abc");
  EXPECT_EQ(source->Read(buffer, 3), 2u);
  EXPECT_EQ(std::string_view(buffer, 2), "de");
  EXPECT_EQ(source->Read(buffer, 3), 0u);
}

uint64_t CountInChunks(std::string_view csv, size_t chunk_size) {
  CsvRecordCounter counter;
  for (size_t offset = 0; offset < csv.size(); offset += chunk_size) {
    counter.Feed(csv.substr(offset, chunk_size));
  }
  return counter.Finish();
}

TEST(CsvRecordCounter, AgreesWithReaderForEveryChunkSize) {
  const std::vector<std::string> inputs = {
      kTrickyCsv,
      "",
      "\n",
      "a",
      "a\n",
      "a\n\n",
      "\xEF\xBB\xBF",
      "\xEF\xBB",
      "\xEF\xBB\n",
      "\xEF\xBB\"x\n\"\n",
      "\xEF\xBB\xBF\"a\nb\"\n",
      "5'2\" tall,\"x\ny\"\nz",
      "a\"b\nc\"d\ne",
      "\"ab\"c\"d\ne\"\nf",
      "\"ab\"\"\n\",x\r\n\"\"\"\"\n",
      "a,\"b\"\r\nc,\"d\"\r",
      "x,\"open\n\nstill",
  };
  for (const std::string& csv : inputs) {
    SCOPED_TRACE(testing::PrintToString(csv));
    const uint64_t expected = ReadAll(csv).size();
    for (size_t chunk_size = 1; chunk_size <= 13; ++chunk_size) {
      EXPECT_EQ(CountInChunks(csv, chunk_size), expected) << "chunk size " << chunk_size;
    }
  }
  EXPECT_EQ(CountInChunks(kTrickyCsv, 1), 9u);
}

TEST(CsvRecordCounter, HonoursConfiguredDelimiter) {
  // With tabs, the quote after the comma is a stray quote, not an opening one.
  const std::string csv = "a\tb,\"c\nd\t\"e\nf\"\n";
  CsvRecordCounter counter('\t');
  counter.Feed(csv);
  EXPECT_EQ(counter.Finish(), ReadAll(csv, {.delimiter = '\t'}).size());
  EXPECT_EQ(counter.Finish(), 2u);
}

TEST(AppendCsvField, QuotesOnlyWhenNeeded) {
  std::string out;
  AppendCsvField(&out, "plain 'single' value");
  EXPECT_EQ(out, "plain 'single' value");
  out.clear();
  AppendCsvField(&out, "Public Works, Transportation & Commerce");
  EXPECT_EQ(out, "\"Public Works, Transportation & Commerce\"");
  out.clear();
  AppendCsvField(&out, "5'2\" tall");
  EXPECT_EQ(out, "\"5'2\"\" tall\"");
  out.clear();
  AppendCsvField(&out, "a,b", '\t');
  EXPECT_EQ(out, "a,b");
  out.clear();
  AppendCsvField(&out, "a\tb", '\t');
  EXPECT_EQ(out, "\"a\tb\"");
  out.clear();
  AppendCsvField(&out, "");
  EXPECT_EQ(out, "");
}

TEST(AppendCsvField, RoundTripsThroughTheReader) {
  const Rows rows = {
      {"plain", "with,comma", "with \"quotes\"", "\"", "\"\""},
      {"line\nbreak", "crlf\r\nbreak", "cr\ronly", "", "'single'"},
      {"", "", "", "", ""},
      {"trailing space ", " leading", "\xC3\xA9t\xC3\xA9", "a\"b", "end\n"},
  };
  for (char delimiter : {',', ';', '\t', '|'}) {
    SCOPED_TRACE(delimiter);
    std::string csv;
    for (const std::vector<std::string>& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i > 0) csv += delimiter;
        AppendCsvField(&csv, row[i], delimiter);
      }
      csv += "\r\n";
    }
    EXPECT_EQ(Fields(csv, {.delimiter = delimiter}), rows);
    EXPECT_EQ(Fields(csv, {.delimiter = delimiter, .read_bytes = 2}), rows);
  }
}

TEST(IsValidUtf8, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ASCII text that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));       // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));          // U+0080, smallest two-byte
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));      // U+0800, smallest three-byte
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below surrogates
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBD"));      // U+FFFD
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000, smallest four-byte
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the largest
  EXPECT_TRUE(
      IsValidUtf8("12345678\xE2\x82\xAC"
                  "abc"));                                // after the ASCII fast path
  EXPECT_TRUE(IsValidUtf8(std::string_view("a\0b", 3)));  // NUL is a character
}

TEST(IsValidUtf8, RejectsInvalidBytes) {
  EXPECT_FALSE(IsValidUtf8("\x80"));  // a lone continuation byte
  EXPECT_FALSE(
      IsValidUtf8("abc\xBF"
                  "def"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xFE"));
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));  // lead byte past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800, a surrogate
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xC3\x28"));          // continuation byte missing
  EXPECT_FALSE(IsValidUtf8("\xE2\x82\x28"));
  EXPECT_FALSE(IsValidUtf8("0123456789\xE9t\xE9"));  // Latin-1, as dirty extracts have
}

TEST(IsValidUtf8, RejectsOverlongEncodings) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // '/' in two bytes
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in three bytes
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(IsValidUtf8, RejectsTruncatedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("abc\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(
      IsValidUtf8("\xF0\x9F\x98"
                  "a"));
}

// csv-spectrum (npm) pairs CSV files with the JSON a correct parser produces:
// an array of objects keyed by the header (one file has a bare object).
TEST(CsvSpectrum, EveryFileParsesToItsJson) {
  const std::filesystem::path root =
      std::filesystem::path(CITYBOOKS_SOURCE_DIR) / "node_modules" / "csv-spectrum";
  ASSERT_TRUE(std::filesystem::is_directory(root / "csvs") &&
              std::filesystem::is_directory(root / "json"))
      << "the csv-spectrum test data is missing at " << root << "; run `make deps` to install it";

  // Known mistakes in the expected JSON, checked so that a fixed upstream file
  // is noticed: https://github.com/max-mapper/csv-spectrum/issues/20
  struct Erratum {
    std::string file;
    std::string column;
    std::string json_value;
    std::string csv_value;
  };
  const std::vector<Erratum> errata = {
      {"location_coordinates", "Contact Phone Number", "1234567890", "2095257564"},
  };

  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root / "csvs")) {
    if (entry.path().extension() != ".csv") continue;
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    ++files;

    std::ifstream json_file(root / "json" / (name + ".json"));
    ASSERT_TRUE(json_file) << "no json/" << name << ".json";
    nlohmann::json expected = nlohmann::json::parse(json_file);
    if (expected.is_object()) expected = nlohmann::json::array({expected});
    ASSERT_TRUE(expected.is_array());

    Result<std::unique_ptr<ByteSource>> source = OpenFileSource(entry.path().string());
    ASSERT_TRUE(source.has_value()) << source.error().message();
    Result<std::vector<Parsed>> records = ReadAll(std::move(*source), {.read_bytes = 7});
    ASSERT_TRUE(records.has_value()) << records.error().message();
    ASSERT_EQ(records->size(), expected.size() + 1);
    const std::vector<std::string>& header = records->front().fields;

    for (size_t row = 0; row < expected.size(); ++row) {
      SCOPED_TRACE(row);
      const Parsed& record = (*records)[row + 1];
      const nlohmann::json& object = expected[row];
      EXPECT_EQ(record.problem, CsvProblem::kNone);
      ASSERT_EQ(record.fields.size(), header.size());
      ASSERT_EQ(object.size(), header.size());
      for (size_t column = 0; column < header.size(); ++column) {
        SCOPED_TRACE(header[column]);
        ASSERT_TRUE(object.contains(header[column]));
        std::string want = object[header[column]].get<std::string>();
        for (const Erratum& erratum : errata) {
          if (erratum.file == name && erratum.column == header[column]) {
            EXPECT_EQ(want, erratum.json_value) << "upstream fixed it: drop the erratum";
            want = erratum.csv_value;
          }
        }
        EXPECT_EQ(record.fields[column], want);
      }
    }
  }
  EXPECT_GE(files, 12);
}

}  // namespace
}  // namespace citybooks

// A streaming CSV reader for the hot path: RFC 4180 quoting, doubled quotes,
// quoted newlines, CRLF or LF line ends, a UTF-8 byte-order mark, and lenient
// handling of stray quotes. Memory is bounded by CsvOptions, never by input.
//
//   CB_ASSIGN_OR_RETURN(auto source, OpenFileSource("sf.csv"));
//   CsvReader reader(std::move(source));
//   CsvRecord record;
//   while (true) {
//     CB_ASSIGN_OR_RETURN(bool more, reader.Next(&record));
//     if (!more) break;
//     ... record.fields[i] ...
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.h"
#include "common/error.h"

namespace citybooks {

struct CsvOptions {
  char delimiter = ',';
  // A record longer than this is reported as kTooLong and skipped, so one
  // corrupt 1 GB line cannot exhaust memory.
  size_t max_record_bytes = size_t{1} << 20;
  // Size of each read from the source.
  size_t read_bytes = size_t{1} << 20;
};

// What was wrong with a record the reader could still delimit. The reader
// never fails on content: problems are reported per record so callers can
// quarantine the row and go on.
enum class CsvProblem {
  kNone,
  kTooLong,            // longer than max_record_bytes; fields are empty
  kUnterminatedQuote,  // a quoted field ran to the end of the input
};

struct CsvRecord {
  // Field values with quotes removed and doubled quotes collapsed. Valid until
  // the next call to Next().
  std::vector<std::string_view> fields;
  // The record's bytes as they appear in the input, without its line end (for
  // a kTooLong record: its first max_record_bytes bytes at most). Valid until
  // the next call to Next().
  std::string_view raw;
  // 1-based physical line numbers where the record starts and ends (they
  // differ when a quoted field holds line breaks).
  uint64_t first_line = 0;
  uint64_t last_line = 0;
  // 0-based index of the record in the input; the header is record 0.
  uint64_t index = 0;
  CsvProblem problem = CsvProblem::kNone;
};

class CsvReader {
 public:
  explicit CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options = {});
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into *record. Returns true when a record was read,
  // false at the end of the input, or an error when the source failed. A blank
  // line at the very end of the input is not a record; blank lines elsewhere
  // are records with one empty field. A leading UTF-8 BOM is skipped.
  Result<bool> Next(CsvRecord* record);

  // Bytes consumed from the source so far.
  uint64_t bytes_read() const;
  std::string_view source_name() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Counts CSV records in a byte stream fed in arbitrary chunks, honouring
// quotes (a line break inside a quoted field does not end a record), CRLF and
// a final record without a line end. Used by the raw zone to count rows in
// the same pass that copies and hashes a file.
// It follows CsvReader's grammar exactly (a quote opens a quoted field only at
// the start of a field; a leading BOM is not content), so both always agree.
class CsvRecordCounter {
 public:
  CsvRecordCounter() = default;
  // For input whose fields are separated by `delimiter` instead of a comma:
  // the delimiter decides where fields start, and so which quotes quote.
  explicit CsvRecordCounter(char delimiter) : delimiter_(delimiter) {}

  void Feed(std::string_view chunk);
  // Records seen, the header included; call after the last Feed().
  uint64_t Finish();

 private:
  // Where the scan stands in the CSV grammar, kept across Feed() calls.
  enum class State : uint8_t {
    kRecordStart,    // nothing of the current record seen yet
    kFieldStart,     // just after a delimiter
    kUnquoted,       // inside an unquoted field (or text after a closing quote)
    kQuoted,         // inside a quoted field
    kQuoteInQuoted,  // just after a quote inside a quoted field
  };
  uint64_t records_ = 0;
  State state_ = State::kRecordStart;
  char delimiter_ = ',';
  uint8_t bom_bytes_matched_ = 0;  // of a leading UTF-8 BOM
  bool past_bom_ = false;          // the leading BOM (or its absence) is settled
};

// Appends `value` to *out as one CSV field, quoting it only when it holds the
// delimiter, a quote, CR or LF.
void AppendCsvField(std::string* out, std::string_view value, char delimiter = ',');

// True when `text` is well-formed UTF-8.
bool IsValidUtf8(std::string_view text);

}  // namespace citybooks

// Test support shared by the CSV readers' tests: a record copied out of a
// reader, so a test can keep it past Next(), with gtest printing.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "common/csv_reader.h"

namespace citybooks {

// A record copied out of the reader, so tests can keep it past Next().
struct Parsed {
  std::vector<std::string> fields;
  std::string raw;
  uint64_t first_line = 0;
  uint64_t last_line = 0;
  uint64_t index = 0;
  CsvProblem problem = CsvProblem::kNone;
  bool operator==(const Parsed&) const = default;
};

inline const char* ProblemName(CsvProblem problem) {
  switch (problem) {
    case CsvProblem::kNone:
      return "none";
    case CsvProblem::kTooLong:
      return "too long";
    case CsvProblem::kUnterminatedQuote:
      return "unterminated quote";
  }
  return "?";
}

inline void PrintTo(const Parsed& record, std::ostream* out) {
  *out << "{index " << record.index << ", lines " << record.first_line << "-" << record.last_line
       << ", " << ProblemName(record.problem) << ", raw " << testing::PrintToString(record.raw)
       << ", fields " << testing::PrintToString(record.fields) << "}";
}

inline Parsed Copy(const CsvRecord& record) {
  Parsed parsed;
  parsed.fields.assign(record.fields.begin(), record.fields.end());
  parsed.raw = record.raw;
  parsed.first_line = record.first_line;
  parsed.last_line = record.last_line;
  parsed.index = record.index;
  parsed.problem = record.problem;
  return parsed;
}

}  // namespace citybooks

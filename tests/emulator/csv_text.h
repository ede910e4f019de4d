// CSV text for the portal emulator: writing records the way the portals do
// (RFC 4180 quoting) and reading the files it is given. Whole-text, not
// streaming: the emulator serves test data held in memory.
//
//   std::string out;
//   AppendCsvRecord({"'Parklets' Permit Fee", "1,200"}, {}, &out);
//   // out == "'Parklets' Permit Fee,\"1,200\"\n"
//   ParseCsv(out)[0][1] == "1,200"
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace citybooks::emulator {

using CsvFields = std::vector<std::string>;

struct CsvStyle {
  // Quote every field (as Socrata does), not only those that need it.
  bool quote_all = false;
  // End records with "\r\n" instead of "\n".
  bool crlf = false;
};

// Appends `fields` as one record plus its line end to *out. A field is quoted
// when `style.quote_all` is set or it holds a comma, a double quote, CR or LF;
// double quotes inside are doubled. A single quote never quotes.
void AppendCsvRecord(const CsvFields& fields, const CsvStyle& style, std::string* out);

// Splits RFC 4180 text into records of unquoted fields. Accepts CRLF, LF or CR
// line ends, quoted line breaks and a leading UTF-8 byte-order mark; a line end
// after the last record does not start another. Lenient like the portals: a
// quote that does not open a field is kept as a character, and a quoted field
// left open runs to the end of the text.
std::vector<CsvFields> ParseCsv(std::string_view text);

}  // namespace citybooks::emulator

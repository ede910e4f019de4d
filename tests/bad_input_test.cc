// The corpus of bad inputs, through the real `citybooks` executable. Each
// input is built inside the test. For each, citybooks either quarantines the
// bad records with a specific reason (and rows read = facts + quarantined),
// or fails with exit status 1 and exactly one error line naming the file;
// never a crash, never a silent drop.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "e2e_support.h"

namespace citybooks_e2e {
namespace {

using nlohmann::json;

std::string Table(const std::string& name) { return std::string(kSchema) + "." + name; }

std::string FormatCents(int64_t cents) {
  char text[40];
  int64_t magnitude = cents < 0 ? -cents : cents;
  std::snprintf(text, sizeof text, "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "",
                magnitude / 100, magnitude % 100);
  return text;
}

// The fields of a well-formed San Francisco row: a few programs, each name
// with one code, so loads of these rows need no remaps.
std::vector<std::string> GoodFields(int i, int64_t cents) {
  struct Program {
    const char* group_code;
    const char* group;
    const char* department_code;
    const char* department;
    const char* program_code;
    const char* program;
  };
  static const Program kPrograms[] = {
      {"1", "Public Protection", "POL", "POL Police", "AAA", "Patrol"},
      {"1", "Public Protection", "FIR", "FIR Fire Department", "AEM", "Fire Airport"},
      {"4", "Community Health", "DPH", "DPH Public Health", "BHC", "Behavioral Health"},
  };
  const Program& p = kPrograms[i % 3];
  bool revenue = i % 4 == 0;
  return {std::to_string(2015 + i % 5),
          revenue ? "Revenue" : "Spending",
          "No",
          p.group_code,
          p.group,
          p.department_code,
          p.department,
          p.program_code,
          p.program,
          revenue ? "600" : "001",
          revenue ? "Charges For Services" : "Salaries",
          revenue ? "601" : "001",
          revenue ? "General Government Service Chrg" : "Permanent Salaries-Misc",
          revenue ? "601110" : "001000",
          revenue ? "Assessment Appeals Fees" : "Perm Sal-Misc-Regular",
          "1G",
          "General Fund",
          "1GAGF",
          "General Fund",
          "1",
          "Operating",
          FormatCents(cents),
          "2023/10/18 12:00:00 AM",
          "2023/10/19 05:04:35 PM"};
}

// Builds an input file line by line, keeping count of what went in.
class Input {
 public:
  explicit Input(bool header = true) {
    if (header) Raw(std::string(kSfHeader) + "\n", 0);
  }
  // Appends `count` well-formed rows.
  void Good(int count = 1) {
    for (int k = 0; k < count; ++k) {
      int i = static_cast<int>(good_);
      int64_t cents = 1000 + (i * 7919) % 100000;
      Raw(CsvLine(GoodFields(i, cents)), 1);
      ++good_;
      good_cents_ += cents;
    }
  }
  // Appends text holding `records` data records; returns the physical line
  // the text starts on.
  int64_t Raw(const std::string& text, int64_t records) {
    int64_t line = next_line_;
    text_ += text;
    for (char c : text) next_line_ += c == '\n';
    records_ += records;
    return line;
  }
  // A whole row from fields; returns its line.
  int64_t Row(const std::vector<std::string>& fields) { return Raw(CsvLine(fields), 1); }

  const std::string& text() const { return text_; }
  int64_t records() const { return records_; }
  int64_t good() const { return good_; }
  int64_t good_cents() const { return good_cents_; }

 private:
  std::string text_;
  int64_t next_line_ = 1;
  int64_t records_ = 0;
  int64_t good_ = 0;
  int64_t good_cents_ = 0;
};

// The raw text of `fields` as a line without its line end.
std::string LineOf(const std::vector<std::string>& fields) {
  std::string line = CsvLine(fields);
  line.pop_back();
  return line;
}

// Fails unless the process ended by itself with status 0 or 1.
void ExpectNoCrash(const ProcessResult& result) {
  EXPECT_TRUE(result.exited) << "killed by a signal:\n" << result.Describe();
  EXPECT_TRUE(result.exit_status == 0 || result.exit_status == 1) << result.Describe();
  if (result.exit_status == 0) {
    for (const std::string& line : Lines(result.err)) {
      EXPECT_NE(line.rfind("citybooks: error: ", 0), 0u) << result.Describe();
    }
  }
}

struct Outcome {
  ProcessResult ingest;
  ProcessResult load;  // not run (exited = false, command empty) when ingest failed
};

// `citybooks --quiet ingest` then, if it landed, `citybooks --quiet load`.
Outcome IngestThenLoad(const Workspace& workspace, const fs::path& file) {
  Outcome outcome;
  outcome.ingest = workspace.Citybooks({"--quiet", "ingest", kDataset, file.string()});
  ExpectNoCrash(outcome.ingest);
  if (outcome.ingest.exited && outcome.ingest.exit_status == 0)
    outcome.load = workspace.Citybooks({"--quiet", "load", kDataset});
  if (!outcome.load.command.empty()) ExpectNoCrash(outcome.load);
  return outcome;
}

fs::path Write(const Workspace& workspace, const std::string& name, const std::string& bytes) {
  fs::path file = workspace.dir() / "in" / name;
  fs::create_directories(file.parent_path());
  WriteFile(file, bytes);
  return file;
}

struct Quarantined {
  int64_t line;
  std::vector<std::string> reason_parts;  // each must appear in the reason
  std::string raw_line;                   // exact raw line; empty: not checked
};

// Expects both commands to succeed, every record of `input` to be read,
// its good rows loaded to the cent, and exactly `expected` quarantined.
void ExpectQuarantined(const Workspace& workspace, const Outcome& outcome, const Input& input,
                       const std::string& file_name, const std::vector<Quarantined>& expected,
                       int64_t quarantined_cents = 0) {
  ASSERT_EQ(outcome.ingest.exit_status, 0) << outcome.ingest.Describe();
  ASSERT_EQ(outcome.load.exit_status, 0) << outcome.load.Describe();
  json runs = workspace.Query("SELECT * FROM " + Table("cb_runs"));
  ASSERT_EQ(runs.size(), 1u) << runs.dump(1);
  const json& run = runs[0];
  EXPECT_EQ(run["status"], "succeeded") << run.dump(1);
  EXPECT_EQ(run["rows_read"], input.records()) << "never a silent drop: " << run.dump(1);
  EXPECT_EQ(run["rows_loaded"], input.good()) << run.dump(1);
  EXPECT_EQ(run["rows_quarantined"], static_cast<int64_t>(expected.size())) << run.dump(1);
  EXPECT_EQ(run["rows_read"].get<int64_t>(),
            run["rows_loaded"].get<int64_t>() + run["rows_quarantined"].get<int64_t>());
  EXPECT_EQ(run["amount_loaded_cents"], input.good_cents()) << run.dump(1);
  EXPECT_EQ(run["amount_quarantined_cents"], quarantined_cents) << run.dump(1);
  EXPECT_EQ(run["amount_read_cents"], input.good_cents() + quarantined_cents) << run.dump(1);
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("fact_transaction")), input.good());
  EXPECT_EQ(
      workspace.QueryInt("SELECT COALESCE(SUM(amount_cents), 0) FROM " + Table("fact_transaction")),
      input.good_cents());

  json rows = workspace.Query("SELECT file, line, raw_line, reason FROM " + Table("cb_quarantine") +
                              " ORDER BY line");
  ASSERT_EQ(rows.size(), expected.size()) << rows.dump(1).substr(0, 4000);
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("quarantined record " + std::to_string(i));
    const json& row = rows[i];
    EXPECT_EQ(row["file"], file_name);
    EXPECT_EQ(row["line"], expected[i].line) << row.dump().substr(0, 500);
    std::string reason = row["reason"].get<std::string>();
    for (const std::string& part : expected[i].reason_parts)
      EXPECT_NE(reason.find(part), std::string::npos)
          << "reason '" << reason << "' should mention '" << part << "'";
    if (!expected[i].raw_line.empty()) {
      EXPECT_EQ(row["raw_line"], expected[i].raw_line);
    }
  }
  json checks = workspace.Query("SELECT check_name, status, details FROM " + Table("cb_quality") +
                                " WHERE status <> 'pass'");
  EXPECT_TRUE(checks.empty()) << checks.dump(1);
}

// Expects the load to fail: status 1, one error line naming the file and
// each of `parts`, nothing loaded, the failure recorded in cb_runs.
void ExpectLoadRefused(const Workspace& workspace, const Outcome& outcome,
                       const std::string& file_name, const std::vector<std::string>& parts) {
  ASSERT_EQ(outcome.ingest.exit_status, 0) << outcome.ingest.Describe();
  EXPECT_EQ(outcome.load.exit_status, 1) << outcome.load.Describe();
  ExpectOneErrorLine(outcome.load, file_name);
  for (const std::string& part : parts)
    EXPECT_NE(outcome.load.err.find(part), std::string::npos)
        << "the error should name " << part << ":\n"
        << outcome.load.Describe();
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("fact_transaction")), 0);
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("cb_snapshots")), 0)
      << "the snapshot stays unloaded";
  json runs = workspace.Query("SELECT status, message FROM " + Table("cb_runs"));
  ASSERT_EQ(runs.size(), 1u) << "the failed run is recorded: " << runs.dump(1);
  EXPECT_EQ(runs[0]["status"], "failed");
  for (const std::string& part : parts)
    EXPECT_NE(runs[0]["message"].get<std::string>().find(part), std::string::npos) << runs.dump(1);
  EXPECT_EQ(workspace.Status()["pending_snapshots"], 1);
}

// Expects ingest to fail: status 1, one error line naming the file and
// `part`, nothing landed.
void ExpectIngestRefused(const Workspace& workspace, const Outcome& outcome,
                         const std::string& file_name, const std::string& part) {
  EXPECT_EQ(outcome.ingest.exit_status, 1) << outcome.ingest.Describe();
  ExpectOneErrorLine(outcome.ingest, file_name);
  EXPECT_NE(outcome.ingest.err.find(part), std::string::npos) << outcome.ingest.Describe();
  EXPECT_EQ(workspace.Status()["raw_snapshots"], 0);
}

// ---------------------------------------------------------------------------

TEST(BadInput, ShortAndLongRowsAreQuarantinedWithFieldCounts) {
  Workspace workspace;
  Input input;
  input.Good(5);
  std::vector<std::string> fields = GoodFields(100, 123);
  std::vector<std::string> short_row(fields.begin(), fields.begin() + 10);
  int64_t short_line = input.Row(short_row);
  input.Good(3);
  std::vector<std::string> long_row = fields;
  long_row.push_back("extra");
  long_row.push_back("more");
  int64_t long_line = input.Row(long_row);
  input.Good(2);
  std::vector<std::string> one_less(fields.begin(), fields.end() - 1);
  int64_t one_less_line = input.Row(one_less);
  std::vector<std::string> one_more = fields;
  one_more.push_back("");
  int64_t one_more_line = input.Row(one_more);
  input.Good(2);
  fs::path file = Write(workspace, "field-counts.csv", input.text());

  Outcome outcome = IngestThenLoad(workspace, file);
  ExpectQuarantined(workspace, outcome, input, "field-counts.csv",
                    {{short_line, {"expected 24 fields", "found 10"}, LineOf(short_row)},
                     {long_line, {"expected 24 fields", "found 26"}, LineOf(long_row)},
                     {one_less_line, {"expected 24 fields", "found 23"}, LineOf(one_less)},
                     {one_more_line, {"expected 24 fields", "found 25"}, LineOf(one_more)}});
}

TEST(BadInput, BadAmountsAreQuarantined) {
  Workspace workspace;
  Input input;
  std::vector<Quarantined> expected;
  for (const char* amount : {"12.3.4", "N/A", "abc", "1.2.3e4"}) {
    input.Good(2);
    std::vector<std::string> fields = GoodFields(7, 0);
    fields[kSfAmountColumn] = amount;
    int64_t line = input.Row(fields);
    expected.push_back(
        {line, {"amount", "'" + std::string(amount) + "'", "not an amount"}, LineOf(fields)});
  }
  input.Good(2);
  fs::path file = Write(workspace, "bad-amounts.csv", input.text());
  ExpectQuarantined(workspace, IngestThenLoad(workspace, file), input, "bad-amounts.csv", expected);
}

TEST(BadInput, BadYearsAreQuarantinedAndTheirAmountsCounted) {
  Workspace workspace;
  Input input;
  std::vector<Quarantined> expected;
  int64_t quarantined_cents = 0;
  int64_t cents = 4242;
  for (const char* year : {"20x1", "", "1850", "2020.5"}) {
    input.Good(2);
    std::vector<std::string> fields = GoodFields(3, cents);
    fields[kSfYearColumn] = year;
    int64_t line = input.Row(fields);
    expected.push_back(
        {line, {"fiscal_year", "'" + std::string(year) + "'", "not a year"}, LineOf(fields)});
    quarantined_cents += cents;
    cents += 1111;
  }
  input.Good(2);
  fs::path file = Write(workspace, "bad-years.csv", input.text());
  // The amounts of rows quarantined for their year are read, so they count.
  ExpectQuarantined(workspace, IngestThenLoad(workspace, file), input, "bad-years.csv", expected,
                    quarantined_cents);
}

TEST(BadInput, UnterminatedQuoteIsQuarantinedUpToTheEndOfTheFile) {
  Workspace workspace;
  Input input;
  input.Good(10);
  std::vector<std::string> fields = GoodFields(1, 500);
  std::string line = LineOf(fields);
  // A quote opens the program field and is never closed: the record runs
  // over the rows below it to the end of the file.
  size_t program = line.find(",Patrol,") != std::string::npos ? line.find(",Patrol,")
                                                              : line.find(",Fire Airport,");
  ASSERT_NE(program, std::string::npos);
  line.insert(program + 1, "\"");
  int64_t bad_line = input.Raw(line + "\n", 1);
  Input rest(false);
  rest.Good(5);  // swallowed by the open quote: not records of their own
  input.Raw(rest.text(), 0);
  fs::path file = Write(workspace, "open-quote.csv", input.text());

  ExpectQuarantined(workspace, IngestThenLoad(workspace, file), input, "open-quote.csv",
                    {{bad_line, {"quoted field", "never closed"}, ""}});
}

std::string RandomBytes(std::mt19937& random, size_t size, const std::string& excluded = "") {
  std::string bytes;
  std::uniform_int_distribution<int> byte(0, 255);
  while (bytes.size() < size) {
    char c = static_cast<char>(byte(random));
    if (excluded.find(c) == std::string::npos) bytes.push_back(c);
  }
  return bytes;
}

TEST(BadInput, BinaryJunkFileIsRefusedWithAHeaderError) {
  Workspace workspace;
  std::mt19937 random(20240601);
  std::string junk = std::string("\0\xFF\xFE", 3) + RandomBytes(random, 64 * 1024);
  fs::path file = Write(workspace, "junk.csv", junk);
  Outcome outcome = IngestThenLoad(workspace, file);
  // Refused at ingest (no data rows) or at load (no usable header); either
  // way one clear error line naming the file and its header.
  const ProcessResult& failed = outcome.ingest.exit_status != 0 ? outcome.ingest : outcome.load;
  EXPECT_EQ(failed.exit_status, 1) << outcome.ingest.Describe() << "\n" << outcome.load.Describe();
  // The error quotes the header made printable: no NUL, 0xFF or control bytes.
  ExpectOneErrorLine(failed, "junk.csv");
  EXPECT_NE(failed.err.find("header"), std::string::npos) << failed.Describe();
  if (!outcome.load.command.empty()) {
    EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("fact_transaction")), 0);
    EXPECT_EQ(
        workspace.QueryInt("SELECT COUNT(*) FROM " + Table("cb_runs") + " WHERE status = 'failed'"),
        1);
  }
}

TEST(BadInput, BinaryJunkRowsInsideAValidFileAreQuarantined) {
  Workspace workspace;
  std::mt19937 random(7);
  Input input;
  std::vector<Quarantined> expected;
  for (int k = 0; k < 6; ++k) {
    input.Good(3);
    // Random bytes on one line (no line break or quote, which would merge
    // records), always with a NUL and a 0xFF.
    std::string junk = RandomBytes(random, 40 + 30 * k, std::string("\n\r\"", 3));
    junk[5] = '\0';
    junk[9] = '\xFF';
    if (k % 2) junk[0] = '\0';  // a record that starts with NUL
    int64_t line = input.Raw(junk + "\n", 1);
    expected.push_back({line, {}, ""});
  }
  input.Good(3);
  fs::path file = Write(workspace, "junk-rows.csv", input.text());
  Outcome outcome = IngestThenLoad(workspace, file);
  ExpectQuarantined(workspace, outcome, input, "junk-rows.csv", expected);
  for (const json& row :
       workspace.Query("SELECT reason, raw_line FROM " + Table("cb_quarantine"))) {
    std::string reason = row["reason"].get<std::string>();
    EXPECT_TRUE(reason.find("expected 24 fields") != std::string::npos ||
                reason.find("UTF-8") != std::string::npos)
        << reason;
    std::string raw = row["raw_line"].get<std::string>();
    EXPECT_FALSE(raw.empty());
    EXPECT_EQ(raw.find('\0'), std::string::npos) << "the stored raw line holds a NUL";
  }
}

TEST(BadInput, EmptyFileIsRefusedAtIngest) {
  Workspace workspace;
  fs::path file = Write(workspace, "empty.csv", "");
  ExpectIngestRefused(workspace, IngestThenLoad(workspace, file), "empty.csv", "is empty");
}

TEST(BadInput, HeaderOnlyFileIsRefusedAtIngest) {
  for (const char* line_end : {"\n", "\r\n", ""}) {
    SCOPED_TRACE(std::string("line end ") + (*line_end == '\r' ? "CRLF"
                                             : *line_end       ? "LF"
                                                               : "none"));
    Workspace workspace;
    fs::path file = Write(workspace, "header-only.csv", std::string(kSfHeader) + line_end);
    ExpectIngestRefused(workspace, IngestThenLoad(workspace, file), "header-only.csv",
                        "header but no data rows");
  }
}

TEST(BadInput, WrongHeaderFailsTheLoadNamingTheMissingColumns) {
  Workspace workspace;
  std::string header = kSfHeader;
  header.replace(header.find("fiscal_year"), 11, "year");
  header.replace(header.find(",amount,"), 8, ",amt,");
  Input input(false);
  input.Raw(header + "\n", 0);
  input.Good(20);
  fs::path file = Write(workspace, "wrong-header.csv", input.text());
  ExpectLoadRefused(workspace, IngestThenLoad(workspace, file), "wrong-header.csv",
                    {"fiscal_year", "amount"});
}

TEST(BadInput, DuplicatedHeaderColumnFailsTheLoadNamingIt) {
  Workspace workspace;
  std::string header = kSfHeader;
  header.replace(header.find("data_as_of"), 10, "department");
  Input input(false);
  input.Raw(header + "\n", 0);
  input.Good(20);
  fs::path file = Write(workspace, "doubled-column.csv", input.text());
  ExpectLoadRefused(workspace, IngestThenLoad(workspace, file), "doubled-column.csv",
                    {"'department'"});
}

TEST(BadInput, HeaderRepeatedInTheMiddleIsQuarantined) {
  Workspace workspace;
  Input input;
  input.Good(5);
  int64_t line = input.Raw(std::string(kSfHeader) + "\n", 1);
  input.Good(5);
  fs::path file = Write(workspace, "two-headers.csv", input.text());
  ExpectQuarantined(workspace, IngestThenLoad(workspace, file), input, "two-headers.csv",
                    {{line, {"repeated header row"}, kSfHeader}});
}

TEST(BadInput, CrlfByteOrderMarkAndQuotedNewlinesAllLoad) {
  Workspace workspace;
  Input input(false);
  input.Raw("\xEF\xBB\xBF" + std::string(kSfHeader) + "\r\n", 0);
  int64_t cents = 0;
  for (int i = 0; i < 30; ++i) {
    std::vector<std::string> fields = GoodFields(i, 100 + i);
    cents += 100 + i;
    if (i % 3 == 0) fields[8] = "Street Lights,\r\nand \"Signals\"\nPhase 2";
    std::string line = CsvLine(fields);
    line.insert(line.size() - 1, "\r");
    if (i == 29) line.resize(line.size() - 2);  // the last row has no line end
    input.Raw(line, 1);
  }
  fs::path file = Write(workspace, "crlf-bom.csv", input.text());
  Outcome outcome = IngestThenLoad(workspace, file);
  ASSERT_EQ(outcome.ingest.exit_status, 0) << outcome.ingest.Describe();
  ASSERT_EQ(outcome.load.exit_status, 0) << outcome.load.Describe();
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("cb_quarantine")), 0)
      << workspace.Query("SELECT line, reason FROM " + Table("cb_quarantine")).dump(1);
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("fact_transaction")), 30);
  EXPECT_EQ(workspace.QueryInt("SELECT SUM(amount_cents) FROM " + Table("fact_transaction")),
            cents);
  EXPECT_EQ(workspace.QueryInt("SELECT rows_read FROM " + Table("cb_runs")), 30);
  json programs = workspace.Query("SELECT DISTINCT program FROM " + Table("dim_program") +
                                  " WHERE program LIKE 'Street Lights%'");
  ASSERT_EQ(programs.size(), 1u) << programs.dump(1);
  std::string program = programs[0]["program"].get<std::string>();
  EXPECT_NE(program.find("\"Signals\"\n"), std::string::npos)
      << "quoted line breaks and doubled quotes are content: " << json(program).dump();
  // The BOM is not part of the first column's name, or fiscal_year would be missing.
  EXPECT_EQ(
      workspace.QueryInt("SELECT COUNT(DISTINCT fiscal_year) FROM " + Table("fact_transaction")),
      5);
}

TEST(BadInput, InvalidUtf8InAFieldIsQuarantined) {
  Workspace workspace;
  Input input;
  std::vector<Quarantined> expected;
  for (const char* bad : {"Caf\xC3\x28", "\xFF\xFE Police", "Cut \xE2\x82", "Over\xC0\xAFlong",
                          "Surrogate \xED\xA0\x80"}) {
    input.Good(2);
    std::vector<std::string> fields = GoodFields(2, 999);
    fields[6] = bad;  // department
    int64_t line = input.Row(fields);
    expected.push_back({line, {"UTF-8"}, ""});
  }
  // Valid UTF-8 beyond ASCII is text like any other.
  std::vector<std::string> accented = GoodFields(0, 3300);
  accented[8] = "Café Niño — Ü";
  input.Raw(CsvLine(accented), 1);
  input.Good(2);
  fs::path file = Write(workspace, "bad-utf8.csv", input.text());
  Outcome outcome = IngestThenLoad(workspace, file);
  ASSERT_EQ(outcome.load.exit_status, 0) << outcome.load.Describe();
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("fact_transaction")),
            input.good() + 1);
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("dim_program") +
                               " WHERE program = 'Café Niño — Ü'"),
            1);
  json rows = workspace.Query("SELECT line, reason, raw_line FROM " + Table("cb_quarantine") +
                              " ORDER BY line");
  ASSERT_EQ(rows.size(), expected.size()) << rows.dump(1);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["line"], expected[i].line) << rows[i].dump();
    EXPECT_NE(rows[i]["reason"].get<std::string>().find("UTF-8"), std::string::npos)
        << rows[i].dump();
  }
  EXPECT_EQ(workspace.QueryInt("SELECT rows_read FROM " + Table("cb_runs")), input.records());
}

// ---------------------------------------------------------------------------

TEST(BadInput, OneGibibyteLineIsQuarantinedWithBoundedMemory) {
  Workspace workspace;
  Input head;
  head.Good(10);
  Input tail(false);
  for (int i = 0; i < 10; ++i) {
    int64_t cents = 777 + i;
    tail.Row(GoodFields(i, cents));
  }
  fs::path file = workspace.dir() / "in" / "huge-line.csv";
  fs::create_directories(file.parent_path());
  constexpr size_t kChunk = size_t{1} << 20;
  constexpr size_t kChunks = 1024;  // 1 GiB
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << head.text();
    std::string chunk(kChunk, 'x');
    for (size_t i = 0; i < kChunks; ++i)
      out.write(chunk.data(), static_cast<std::streamsize>(kChunk));
    out << "\n" << tail.text();
    out.close();
    ASSERT_TRUE(out.good()) << "cannot write " << file;
  }
  ASSERT_GT(fs::file_size(file), kChunk * kChunks);
  const int64_t huge_line = 2 + head.good();

  ProcessResult ingest = workspace.Citybooks({"--quiet", "ingest", kDataset, file.string()});
  ExpectNoCrash(ingest);
  ASSERT_EQ(ingest.exit_status, 0) << ingest.Describe();
  ProcessResult load = workspace.Citybooks({"--quiet", "load", kDataset});
  ExpectNoCrash(load);
  ASSERT_EQ(load.exit_status, 0) << load.Describe();
  std::error_code error;
  fs::remove(file, error);
  fs::remove_all(workspace.raw_dir(), error);

  constexpr int64_t kLimitKib = 300 * 1024;
  EXPECT_LT(ingest.max_rss_kib, kLimitKib) << "ingest peak RSS " << ingest.max_rss_kib << " KiB";
  EXPECT_LT(load.max_rss_kib, kLimitKib) << "load peak RSS " << load.max_rss_kib << " KiB";

  json runs = workspace.Query(
      "SELECT rows_read, rows_loaded, rows_quarantined, "
      "amount_loaded_cents FROM " +
      Table("cb_runs"));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["rows_read"], 21);
  EXPECT_EQ(runs[0]["rows_loaded"], 20);
  EXPECT_EQ(runs[0]["rows_quarantined"], 1);
  int64_t tail_cents = 0;
  for (int i = 0; i < 10; ++i) tail_cents += 777 + i;
  EXPECT_EQ(runs[0]["amount_loaded_cents"], head.good_cents() + tail_cents);
  json rows = workspace.Query(
      "SELECT line, reason, LENGTH(raw_line) AS length, "
      "SUBSTR(raw_line, 1, 8) AS start FROM " +
      Table("cb_quarantine"));
  ASSERT_EQ(rows.size(), 1u) << rows.dump(1);
  EXPECT_EQ(rows[0]["line"], huge_line);
  EXPECT_NE(rows[0]["reason"].get<std::string>().find("longer than the reader's limit"),
            std::string::npos)
      << rows.dump(1);
  EXPECT_EQ(rows[0]["start"], "xxxxxxxx");
  EXPECT_LT(rows[0]["length"].get<int64_t>(), 1 << 20) << "the stored raw line is bounded";
  RecordProperty("ingest_max_rss_kib", std::to_string(ingest.max_rss_kib));
  RecordProperty("load_max_rss_kib", std::to_string(load.max_rss_kib));
}

}  // namespace
}  // namespace citybooks_e2e

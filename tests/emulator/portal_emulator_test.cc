// Tests of PortalEmulator through a real HTTP client (httplib::Client): each
// behaviour of the real portals that citybooks' sources must survive, and each
// injected fault, observed the way a source would observe it.
#include "emulator/portal_emulator.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "emulator/csv_text.h"
#include "emulator/gzip.h"
#include "emulator/internal/reply.h"

extern char** environ;

namespace citybooks::emulator {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using std::chrono::sys_days;
using std::chrono::sys_seconds;
using Rows = std::vector<std::vector<std::string>>;

// --- Realistic data ------------------------------------------------------------

const std::vector<std::string> kSfColumns = {"fiscal_year",
                                             "revenue_or_spending",
                                             "related_govt_units",
                                             "organization_group_code",
                                             "organization_group",
                                             "department_code",
                                             "department",
                                             "program_code",
                                             "program",
                                             "character_code",
                                             "character",
                                             "object_code",
                                             "object",
                                             "sub_object_code",
                                             "sub_object",
                                             "fund_type_code",
                                             "fund_type",
                                             "fund_code",
                                             "fund",
                                             "fund_category_code",
                                             "fund_category",
                                             "amount",
                                             "data_as_of",
                                             "data_loaded_at"};

// San Francisco-shaped rows with the real extract's dirt: mixed-case Yes/No,
// the same name under numeric and mnemonic codes, a value opening with a
// single quote, numeric-looking codes, and (every 97th row) a program name
// holding a comma, double quotes and a line break.
Rows SfRows(int count) {
  struct Department {
    const char* group_code;
    const char* group;
    const char* code;
    const char* name;
  };
  static const Department kDepartments[] = {
      {"01", "Public Protection", "POL", "Police"},
      {"01", "Public Protection", "FIR", "Fire Department"},
      {"02", "Human Welfare & Neighborhood Development", "HSA", "HSA Human Services Agency"},
      {"07", "General Administration & Finance", "UNA", "GEN General City / Unallocated"},
  };
  static const char* const kGovtUnits[] = {"No", "Yes", "NO", "YES"};
  Rows rows;
  for (int i = 0; i < count; ++i) {
    const Department& d = kDepartments[i % 4];
    const bool revenue = i % 3 == 0;
    const bool mnemonic = i % 2 == 0;
    const std::string program =
        i % 97 == 5 ? "Housing, \"Rapid\"\nRehousing" : "Program " + std::to_string(i % 40);
    const long cents = (i % 7 == 3 ? -1 : 1) * (100L + 7919L * i % 1000003L);
    rows.push_back(
        {std::to_string(2019 + i % 5),
         revenue ? "Revenue" : "Spending",
         kGovtUnits[i % 4],
         d.group_code,
         d.group,
         d.code,
         d.name,
         "P" + std::to_string(i % 40),
         program,
         mnemonic ? "CHGS_FOR_SERVICES" : "460",
         mnemonic ? "Charges for Services" : "Charges For Services",
         "4601",
         "Permits",
         "460199",
         i % 11 == 0 ? "'Parklets' Permit Fee" : "Other Permits",
         "1",
         "General Fund",
         "10000",
         "General Fund",
         i % 2 == 0 ? "0.0" : "3.0",
         "Operating",
         std::to_string(cents / 100) + "." + std::to_string(100 + std::abs(cents) % 100).substr(1),
         "2023-09-01T00:00:00.000",
         "2023-09-02T06:15:00.000"});
  }
  return rows;
}

// A narrow dataset for tests that need many rows and not their width.
Rows NarrowRows(int count) {
  Rows rows;
  for (int i = 0; i < count; ++i) rows.push_back({std::to_string(i), "Police", "1.00"});
  return rows;
}

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(CITYBOOKS_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The real Phoenix sample (header and first rows of July 2021) repeated to
// `rows` data rows, vendors numbered so every row differs.
std::string PhoenixCsv(int rows) {
  const std::vector<CsvFields> sample =
      ParseCsv(ReadSourceFile("data/reference/phoenix/sample_rows.csv"));
  std::string csv;
  AppendCsvRecord(sample.front(), {}, &csv);
  for (int i = 0; i < rows; ++i) {
    CsvFields record = sample[1 + i % (sample.size() - 1)];
    if (i >= int(sample.size()) - 1) record[2] += " " + std::to_string(i);
    AppendCsvRecord(record, {}, &csv);
  }
  return csv;
}

const sys_seconds kJan2 = sys_days{std::chrono::year{2024} / 1 / 2} + 10h;
const sys_seconds kFeb1 = sys_days{std::chrono::year{2024} / 2 / 1} + 10h;

// --- HTTP helpers ----------------------------------------------------------------

// "/path?k=v&..." with every parameter percent-encoded, as a source would send.
std::string Target(const std::string& path,
                   const std::vector<std::pair<std::string, std::string>>& params) {
  std::string target = path;
  char separator = '?';
  auto encode = [](const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out.push_back(char(c));
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", c);
        out += hex;
      }
    }
    return out;
  };
  for (const auto& [key, value] : params) {
    target += separator + encode(key) + "=" + encode(value);
    separator = '&';
  }
  return target;
}

class PortalEmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = PortalEmulator::Start();
    ASSERT_TRUE(started) << started.error();
    portal_ = std::move(*started);
  }

  // GET with a fresh connection; `configure` may adjust the client.
  httplib::Result Get(const std::string& target, const httplib::Headers& headers = {},
                      const std::function<void(httplib::Client&)>& configure = {}) {
    httplib::Client client(portal_->base_url());
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    if (configure) configure(client);
    return client.Get(target, headers);
  }

  // GET that must answer 200; returns the body.
  std::string GetOk(const std::string& target, const httplib::Headers& headers = {}) {
    httplib::Result result = Get(target, headers);
    EXPECT_TRUE(result) << target << ": " << httplib::to_string(result.error());
    if (!result) return {};
    EXPECT_EQ(result->status, 200) << target << ": " << result->body;
    return result->body;
  }

  // The status of a GET, or -1 when no answer came.
  int StatusOf(const std::string& target, const httplib::Headers& headers = {}) {
    httplib::Result result = Get(target, headers);
    return result ? result->status : -1;
  }

  json GetJson(const std::string& target) { return json::parse(GetOk(target)); }

  // Data records of a CSV answer (header dropped, checked to be `header`).
  std::vector<CsvFields> GetCsvRows(const std::string& target,
                                    const std::vector<std::string>& header) {
    std::vector<CsvFields> records = ParseCsv(GetOk(target));
    EXPECT_FALSE(records.empty()) << target;
    if (records.empty()) return {};
    EXPECT_EQ(records.front(), header) << target;
    records.erase(records.begin());
    return records;
  }

  void SetSf(int rows) { portal_->SetSocrataDataset("bpnb-jwfb", kSfColumns, SfRows(rows), kJan2); }

  std::unique_ptr<PortalEmulator> portal_;
};

std::vector<std::string> WithSystemFields(std::vector<std::string> columns) {
  columns.insert(columns.begin(), {":id", ":created_at", ":updated_at"});
  return columns;
}

// --- Socrata: paging --------------------------------------------------------------

TEST_F(PortalEmulatorTest, SocrataPagingByIdReturnsEveryRowExactlyOnce) {
  SetSf(2500);
  std::vector<std::string> ids;
  Rows rows;
  for (int offset = 0;; offset += 1000) {
    std::vector<CsvFields> page =
        GetCsvRows(Target("/resource/bpnb-jwfb.csv", {{"$select", ":*,*"},
                                                      {"$order", ":id"},
                                                      {"$limit", "1000"},
                                                      {"$offset", std::to_string(offset)}}),
                   WithSystemFields(kSfColumns));
    for (CsvFields& record : page) {
      ids.push_back(record[0]);
      rows.emplace_back(record.begin() + 3, record.end());
    }
    if (page.size() < 1000) break;
  }
  EXPECT_EQ(ids, portal_->SocrataRowIds("bpnb-jwfb"));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 2500u);
  EXPECT_EQ(rows, SfRows(2500));
  EXPECT_EQ(portal_->CountRequests("/resource/"), 3u);
}

TEST_F(PortalEmulatorTest, SocrataPagingWithoutOrderOverlapsAndSkipsRows) {
  SetSf(2500);
  std::map<std::string, int> seen;
  for (int offset = 0; offset < 2500; offset += 1000) {
    for (const CsvFields& record : GetCsvRows(
             Target("/resource/bpnb-jwfb.csv",
                    {{"$select", ":id"}, {"$limit", "1000"}, {"$offset", std::to_string(offset)}}),
             {":id"})) {
      ++seen[record[0]];
    }
  }
  int repeated = 0;
  for (const auto& [id, times] : seen) repeated += times > 1;
  EXPECT_GT(repeated, 0);
  EXPECT_LT(seen.size(), 2500u);  // some rows never came back

  // The same page twice is the same: scrambled, but deterministic.
  const std::string page = Target("/resource/bpnb-jwfb.csv", {{"$offset", "1000"}});
  EXPECT_EQ(GetOk(page), GetOk(page));
  // One page that holds everything holds every row once.
  std::vector<CsvFields> all =
      GetCsvRows(Target("/resource/bpnb-jwfb.csv", {{"$limit", "5000"}}), kSfColumns);
  std::sort(all.begin(), all.end());
  Rows expected = SfRows(2500);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(all, expected);
}

TEST_F(PortalEmulatorTest, SocrataLimitDefaultsTo1000) {
  SetSf(1500);
  EXPECT_EQ(GetCsvRows("/resource/bpnb-jwfb.csv?$order=:id", kSfColumns).size(), 1000u);
}

TEST_F(PortalEmulatorTest, SocrataLimitAbove50000IsSilentlyCappedAt50000) {
  portal_->SetSocrataDataset("narrow", {"n", "department", "amount"}, NarrowRows(50'010), kJan2);
  const std::vector<CsvFields> page =
      GetCsvRows(Target("/resource/narrow.csv", {{"$order", ":id"}, {"$limit", "100000"}}),
                 {"n", "department", "amount"});
  ASSERT_EQ(page.size(), 50'000u);
  EXPECT_EQ(page.back()[0], "49999");
  EXPECT_EQ(GetCsvRows(Target("/resource/narrow.csv",
                              {{"$order", ":id"}, {"$limit", "50000"}, {"$offset", "50000"}}),
                       {"n", "department", "amount"})
                .size(),
            10u);
}

TEST_F(PortalEmulatorTest, SocrataOffsetPastTheEndGivesTheHeaderOnly) {
  SetSf(10);
  EXPECT_TRUE(GetCsvRows("/resource/bpnb-jwfb.csv?$order=:id&$offset=10", kSfColumns).empty());
}

// --- Socrata: query language -----------------------------------------------------------

TEST_F(PortalEmulatorTest, SocrataSystemFieldsAreHiddenUnlessSelected) {
  SetSf(3);
  const std::vector<CsvFields> plain = GetCsvRows("/resource/bpnb-jwfb.csv?$order=:id", kSfColumns);
  const std::vector<CsvFields> full =
      GetCsvRows(Target("/resource/bpnb-jwfb.csv", {{"$select", ":*, *"}, {"$order", ":id"}}),
                 WithSystemFields(kSfColumns));
  ASSERT_EQ(full.size(), 3u);
  EXPECT_EQ(full[0][0], portal_->SocrataRowIds("bpnb-jwfb")[0]);
  EXPECT_TRUE(full[0][0].starts_with("row-")) << full[0][0];
  EXPECT_EQ(full[0][1], "2024-01-02T10:00:00.000Z");
  EXPECT_EQ(full[0][2], "2024-01-02T10:00:00.000Z");
  EXPECT_EQ(CsvFields(full[0].begin() + 3, full[0].end()), plain[0]);
  // Named columns, in the order asked.
  EXPECT_EQ(
      GetCsvRows(Target("/resource/bpnb-jwfb.csv", {{"$select", "amount,:id"}, {"$order", ":id"}}),
                 {"amount", ":id"})[0],
      (CsvFields{plain[0][21], full[0][0]}));
}

TEST_F(PortalEmulatorTest, SocrataCountStarCountsTheRowsTheWhereSelects) {
  SetSf(2345);
  EXPECT_EQ(GetOk(Target("/resource/bpnb-jwfb.csv", {{"$select", "count(*)"}})),
            "\"count\"\n\"2345\"\n");
  portal_->UpdateSocrataRows("bpnb-jwfb", {{.index = 7, .fields = SfRows(8)[0]}}, {}, kFeb1);
  EXPECT_EQ(ParseCsv(GetOk(Target("/resource/bpnb-jwfb.csv",
                                  {{"$select", "count(*) AS n"},
                                   {"$where", ":updated_at > '2024-01-15T00:00:00.000'"}}))),
            (std::vector<CsvFields>{{"n"}, {"1"}}));
}

TEST_F(PortalEmulatorTest, SocrataWhereUpdatedAtFindsChangedAndAddedRowsButNotDeletedOnes) {
  SetSf(100);
  const std::vector<std::string> before = portal_->SocrataRowIds("bpnb-jwfb");
  Rows rows = SfRows(100);
  rows[10][21] = "1.00";
  const Rows added = {SfRows(101)[100]};
  portal_->UpdateSocrataRows("bpnb-jwfb",
                             {{.index = 10, .fields = rows[10]},
                              {.index = 20, .fields = std::nullopt},
                              {.index = 30, .fields = rows[30]}},  // unchanged: not updated
                             added, kFeb1);
  const std::vector<std::string> after = portal_->SocrataRowIds("bpnb-jwfb");
  ASSERT_EQ(after.size(), 100u);

  const std::vector<CsvFields> changed = GetCsvRows(
      Target("/resource/bpnb-jwfb.csv", {{"$select", ":*,*"},
                                         {"$where", ":updated_at > '2024-01-02T10:00:00'"},
                                         {"$order", ":id"}}),
      WithSystemFields(kSfColumns));
  ASSERT_EQ(changed.size(), 2u);
  EXPECT_EQ(changed[0][0], before[10]);
  EXPECT_EQ(changed[0][1], "2024-01-02T10:00:00.000Z");  // created_at kept
  EXPECT_EQ(changed[0][2], "2024-02-01T10:00:00.000Z");
  EXPECT_EQ(changed[0][3 + 21], "1.00");
  EXPECT_EQ(changed[1][0], after.back());
  EXPECT_EQ(std::count(after.begin(), after.end(), before[20]), 0);
  EXPECT_EQ(GetJson("/api/views/bpnb-jwfb.json")["rowsUpdatedAt"],
            kFeb1.time_since_epoch().count());
}

TEST_F(PortalEmulatorTest, SocrataUploadAgainKeepsIdsAndDatesOfUnchangedRows) {
  SetSf(5);
  const std::vector<std::string> ids = portal_->SocrataRowIds("bpnb-jwfb");
  Rows rows = SfRows(6);
  rows[2][21] = "999.99";
  portal_->SetSocrataDataset("bpnb-jwfb", kSfColumns, rows, kFeb1);
  const std::vector<CsvFields> full = GetCsvRows(
      Target("/resource/bpnb-jwfb.csv", {{"$select", ":id,:updated_at"}, {"$order", ":id"}}),
      {":id", ":updated_at"});
  ASSERT_EQ(full.size(), 6u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(full[i][0], ids[i]);
  EXPECT_EQ(full[0][1], "2024-01-02T10:00:00.000Z");
  EXPECT_EQ(full[2][1], "2024-02-01T10:00:00.000Z");
  EXPECT_EQ(full[5][1], "2024-02-01T10:00:00.000Z");
}

TEST_F(PortalEmulatorTest, SocrataRejectsWhatItDoesNotEmulateWith400) {
  SetSf(3);
  for (const std::string& target :
       {Target("/resource/bpnb-jwfb.csv", {{"$order", "amount"}}),
        Target("/resource/bpnb-jwfb.csv", {{"$limit", "-1"}}),
        Target("/resource/bpnb-jwfb.csv", {{"$where", "amount > 5"}}),
        Target("/resource/bpnb-jwfb.csv", {{"$where", ":updated_at > 'soon'"}}),
        Target("/resource/bpnb-jwfb.csv", {{"$select", "nope"}}),
        Target("/resource/bpnb-jwfb.csv", {{"$group", "department"}}),
        Target("/resource/bpnb-jwfb.csv", {{"$limit", "1"}, {"$limit", "2"}})}) {
    httplib::Result result = Get(target);
    ASSERT_TRUE(result) << target;
    EXPECT_EQ(result->status, 400) << target;
    EXPECT_EQ(json::parse(result->body)["error"], true) << target;
  }
}

TEST_F(PortalEmulatorTest, SocrataAnswersCarrySoda2Headers) {
  portal_->SetSocrataDataset("typed", {.columns = {"fiscal_year", "amount"},
                                       .rows = {{"2023", "1.50"}},
                                       .rows_updated_at = kJan2,
                                       .types = {"text", "number"}});
  httplib::Result result = Get("/resource/typed.csv?$select=:*,*");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(result->get_header_value("X-SODA2-Fields"),
            R"([":id",":created_at",":updated_at","fiscal_year","amount"])");
  EXPECT_EQ(result->get_header_value("X-SODA2-Types"),
            R"(["meta_data","meta_data","meta_data","text","number"])");
  EXPECT_EQ(result->get_header_value("X-SODA2-Truth-Last-Modified"),
            "Tue, 02 Jan 2024 10:00:00 GMT");
  EXPECT_EQ(result->get_header_value("Last-Modified"), "Tue, 02 Jan 2024 10:00:00 GMT");
  EXPECT_FALSE(result->get_header_value("ETag").empty());

  result = Get("/resource/typed.csv?$select=count(*)");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get_header_value("X-SODA2-Fields"), R"(["count"])");
  EXPECT_EQ(result->get_header_value("X-SODA2-Types"), R"(["number"])");
}

TEST_F(PortalEmulatorTest, SocrataCsvQuotesEveryFieldAndKeepsDirtyValuesIntact) {
  SetSf(100);
  const std::string body = GetOk("/resource/bpnb-jwfb.csv?$order=:id&$limit=100");
  EXPECT_TRUE(body.starts_with("\"fiscal_year\",\"revenue_or_spending\",")) << body.substr(0, 80);
  EXPECT_NE(body.find("\"'Parklets' Permit Fee\""), std::string::npos);
  EXPECT_NE(body.find("\"Housing, \"\"Rapid\"\"\nRehousing\""), std::string::npos);
  EXPECT_EQ(body.find('\r'), std::string::npos);
  EXPECT_EQ(GetCsvRows("/resource/bpnb-jwfb.csv?$order=:id&$limit=100", kSfColumns), SfRows(100));
}

TEST_F(PortalEmulatorTest, SocrataCsvCanUseCrlfAndMinimalQuoting) {
  portal_->SetSocrataDataset("crlf", {.columns = {"name", "amount"},
                                      .rows = {{"'Parklets' Permit Fee", "1,200.00"}},
                                      .rows_updated_at = kJan2,
                                      .quote_all_fields = false,
                                      .crlf_line_ends = true});
  EXPECT_EQ(GetOk("/resource/crlf.csv"), "name,amount\r\n'Parklets' Permit Fee,\"1,200.00\"\r\n");
}

TEST_F(PortalEmulatorTest, SocrataViewsReportRowsUpdatedAtAndColumns) {
  SetSf(3);
  const json view = GetJson("/api/views/bpnb-jwfb.json");
  EXPECT_EQ(view["id"], "bpnb-jwfb");
  EXPECT_EQ(view["rowsUpdatedAt"], kJan2.time_since_epoch().count());
  ASSERT_EQ(view["columns"].size(), kSfColumns.size());
  for (size_t i = 0; i < kSfColumns.size(); ++i) {
    EXPECT_EQ(view["columns"][i]["fieldName"], kSfColumns[i]);
  }
  SetSf(4);
  const json later = GetJson("/api/views/bpnb-jwfb.json");
  EXPECT_EQ(later["rowsUpdatedAt"], kJan2.time_since_epoch().count());
  portal_->SetSocrataDataset("bpnb-jwfb", kSfColumns, SfRows(4), kFeb1);
  EXPECT_EQ(GetJson("/api/views/bpnb-jwfb.json")["rowsUpdatedAt"],
            kFeb1.time_since_epoch().count());
  EXPECT_EQ(GetJson("/api/views/bpnb-jwfb.json")["createdAt"], kJan2.time_since_epoch().count());
}

// --- Conditional requests and gzip --------------------------------------------------------

TEST_F(PortalEmulatorTest, EtagAnswers304UntilTheDataChanges) {
  SetSf(10);
  const std::string target = "/resource/bpnb-jwfb.csv?$order=:id";
  httplib::Result first = Get(target);
  ASSERT_TRUE(first);
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(Get(target)->get_header_value("ETag"), etag);
  EXPECT_NE(Get(target + "&$limit=5")->get_header_value("ETag"), etag);

  httplib::Result again = Get(target, {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(again->get_header_value("ETag"), etag);
  EXPECT_EQ(StatusOf(target, {{"If-None-Match", "W/" + etag}}), 304);
  EXPECT_EQ(StatusOf(target, {{"If-None-Match", "\"other\""}}), 200);

  // Republishing changes the ETag even when no value changed.
  SetSf(10);
  httplib::Result changed = Get(target, {{"If-None-Match", etag}});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);
  EXPECT_NE(changed->get_header_value("ETag"), etag);
  EXPECT_EQ(changed->body, first->body);
}

TEST_F(PortalEmulatorTest, GzipWhenTheClientAcceptsIt) {
  SetSf(500);
  const std::string target = "/resource/bpnb-jwfb.csv?$order=:id";
  const std::string plain = GetOk(target, {{"Accept-Encoding", "identity"}});

  httplib::Result raw = Get(target, {{"Accept-Encoding", "deflate, gzip;q=0.9, br;q=0"}},
                            [](httplib::Client& client) { client.set_decompress(false); });
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(raw->get_header_value("Content-Length"), std::to_string(raw->body.size()));
  EXPECT_LT(raw->body.size(), plain.size() / 4);
  EXPECT_EQ(GzipDecompress(raw->body), plain);

  // httplib decodes it again transparently.
  EXPECT_EQ(GetOk(target, {{"Accept-Encoding", "gzip"}}), plain);
  // q=0 refuses gzip.
  httplib::Result refused = Get(target, {{"Accept-Encoding", "gzip;q=0"}},
                                [](httplib::Client& client) { client.set_decompress(false); });
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->has_header("Content-Encoding"));
  EXPECT_EQ(refused->body, plain);
}

// --- Throttling ------------------------------------------------------------------------------

TEST_F(PortalEmulatorTest, ThrottlesRequestsWithoutAppTokenWith429AndRetryAfter) {
  SetSf(3);
  portal_->SetThrottle(2);
  const std::string target = "/resource/bpnb-jwfb.csv";
  EXPECT_EQ(StatusOf(target), 200);
  EXPECT_EQ(StatusOf("/api/views/bpnb-jwfb.json"), 200);
  httplib::Result throttled = Get(target);
  ASSERT_TRUE(throttled);
  EXPECT_EQ(throttled->status, 429);
  EXPECT_EQ(throttled->get_header_value("Retry-After"), "1");

  // An app token, as header or parameter, is never throttled.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(StatusOf(target, {{"X-App-Token", "test-token"}}), 200);
  }
  EXPECT_EQ(StatusOf(target + "?$$app_token=test-token"), 200);
  // CKAN is not Socrata's pool.
  EXPECT_EQ(StatusOf("/api/3/action/package_show?id=none"), 404);

  // Waiting as told works.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(StatusOf(target), 200);
  portal_->SetThrottle(0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(StatusOf(target), 200);
}

// --- Faults ------------------------------------------------------------------------------------

TEST_F(PortalEmulatorTest, FaultNextTwoRequestsGet429ThenTheAnswer) {
  SetSf(3);
  portal_->AddFault({.path_prefix = "/resource/", .fault = Fault::TooManyRequests(1), .times = 2});
  EXPECT_EQ(StatusOf("/api/views/bpnb-jwfb.json"), 200);  // other prefix: untouched
  for (int i = 0; i < 2; ++i) {
    httplib::Result result = Get("/resource/bpnb-jwfb.csv");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 429);
    EXPECT_EQ(result->get_header_value("Retry-After"), "1");
  }
  EXPECT_EQ(StatusOf("/resource/bpnb-jwfb.csv"), 200);
  const std::vector<RecordedRequest> log = portal_->Requests();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[1].fault, "status 429");
  EXPECT_EQ(log[3].fault, "");
}

TEST_F(PortalEmulatorTest, FaultEveryThirdRequestGets500) {
  SetSf(3);
  portal_->AddFault({.fault = Fault::Status(500), .times = FaultRule::kForever, .every = 3});
  std::vector<int> statuses;
  for (int i = 0; i < 7; ++i) statuses.push_back(StatusOf("/resource/bpnb-jwfb.csv"));
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 500, 200, 200, 500, 200}));
  portal_->ClearFaults();
  EXPECT_EQ(StatusOf("/resource/bpnb-jwfb.csv"), 200);
}

TEST_F(PortalEmulatorTest, FaultResetMidBodyLeavesTheClientWithAReadError) {
  SetSf(2000);
  portal_->AddFault({.path_prefix = "/resource/", .fault = Fault::ResetMidBody()});
  const std::string target = "/resource/bpnb-jwfb.csv?$order=:id";
  std::string received;
  httplib::Client client(portal_->base_url());
  client.set_read_timeout(5);
  httplib::Result result = client.Get(
      target,
      [&](const httplib::Response& response) {
        EXPECT_EQ(response.status, 200);
        return true;
      },
      [&](const char* data, size_t length) {
        received.append(data, length);
        return true;
      });
  EXPECT_FALSE(result);
  EXPECT_EQ(result.error(), httplib::Error::Read) << httplib::to_string(result.error());
  const std::string whole = GetOk(target);  // the fault fired once
  EXPECT_GT(received.size(), 0u);
  EXPECT_LT(received.size(), whole.size());
  EXPECT_TRUE(whole.starts_with(received));
  EXPECT_EQ(portal_->Requests()[0].fault, "reset mid-body");
}

TEST_F(PortalEmulatorTest, FaultNotReadyAnswers202) {
  SetSf(3);
  portal_->AddFault({.path_prefix = "/resource/", .fault = Fault::NotReady(2)});
  httplib::Result result = Get("/resource/bpnb-jwfb.csv");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 202);
  EXPECT_EQ(result->get_header_value("Retry-After"), "2");
  EXPECT_EQ(StatusOf("/resource/bpnb-jwfb.csv"), 200);
}

TEST_F(PortalEmulatorTest, FaultDelayHoldsTheAnswer) {
  SetSf(3);
  portal_->AddFault({.fault = Fault::Delay(300ms)});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(StatusOf("/resource/bpnb-jwfb.csv"), 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);

  // Longer than the client waits: a timeout.
  portal_->AddFault({.fault = Fault::Delay(3s)});
  httplib::Result result = Get("/resource/bpnb-jwfb.csv", {}, [](httplib::Client& client) {
    client.set_read_timeout(std::chrono::milliseconds(200));
  });
  EXPECT_FALSE(result);
  EXPECT_EQ(result.error(), httplib::Error::Read);
  // The fixture's Stop() cuts the remaining delay short.
}

TEST_F(PortalEmulatorTest, FaultTruncatedGzipSendsHalfAStreamWithMatchingHeaders) {
  SetSf(500);
  portal_->AddFault({.path_prefix = "/resource/", .fault = Fault::TruncatedGzip()});
  httplib::Result result = Get("/resource/bpnb-jwfb.csv?$order=:id", {},
                               [](httplib::Client& client) { client.set_decompress(false); });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(result->get_header_value("Content-Length"), std::to_string(result->body.size()));
  EXPECT_GT(result->body.size(), 100u);
  EXPECT_EQ(GzipDecompress(result->body), std::nullopt);
  EXPECT_EQ(GetOk("/resource/bpnb-jwfb.csv?$order=:id", {{"Accept-Encoding", "gzip"}}).size(),
            GetOk("/resource/bpnb-jwfb.csv?$order=:id").size());
}

TEST_F(PortalEmulatorTest, FaultHtmlErrorPageComesWithStatus200) {
  SetSf(3);
  portal_->AddFault({.path_prefix = "/resource/", .fault = Fault::HtmlErrorPage()});
  httplib::Result result = Get("/resource/bpnb-jwfb.csv");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(result->body.starts_with("<!DOCTYPE html>"));
}

TEST_F(PortalEmulatorTest, FaultDelayCombinesWithAnotherFault) {
  SetSf(3);
  portal_->AddFault({.fault = Fault::Delay(50ms)});
  portal_->AddFault({.fault = Fault::Status(503)});
  EXPECT_EQ(StatusOf("/resource/bpnb-jwfb.csv"), 503);
  EXPECT_EQ(portal_->Requests().back().fault, "delay 50ms, status 503");
}

TEST_F(PortalEmulatorTest, UnknownIdsAndPathsGet404) {
  SetSf(3);
  portal_->SetCkanPackage("city-checkbook", {{.id = "r1", .name = "July", .bytes = "a\n1\n"}});
  for (const char* target :
       {"/resource/none-none.csv", "/resource/bpnb-jwfb.json", "/api/views/none-none.json",
        "/api/3/action/package_show?id=none", "/api/3/action/datastore_search?resource_id=none",
        "/dataset/city-checkbook/resource/none/download/x.csv",
        "/dataset/none/resource/r1/download/x.csv", "/nowhere"}) {
    httplib::Result result = Get(target);
    ASSERT_TRUE(result) << target;
    EXPECT_EQ(result->status, 404) << target;
  }
  const json missing = json::parse(Get("/api/3/action/package_show?id=none")->body);
  EXPECT_EQ(missing["success"], false);
  EXPECT_EQ(missing["error"]["__type"], "Not Found Error");
}

TEST_F(PortalEmulatorTest, StopRefusesConnectionsAndResumeServesAgain) {
  SetSf(3);
  EXPECT_TRUE(portal_->running());
  portal_->Stop();
  EXPECT_FALSE(portal_->running());
  httplib::Result down = Get("/resource/bpnb-jwfb.csv");
  EXPECT_FALSE(down);
  EXPECT_EQ(down.error(), httplib::Error::Connection) << httplib::to_string(down.error());
  portal_->Stop();  // idempotent
  ASSERT_TRUE(portal_->Resume());
  EXPECT_EQ(StatusOf("/resource/bpnb-jwfb.csv"), 200);
}

TEST_F(PortalEmulatorTest, ListensOnLoopbackOnly) {
  EXPECT_EQ(portal_->base_url(), "http://127.0.0.1:" + std::to_string(portal_->port()));
  EXPECT_GT(portal_->port(), 0);
}

TEST_F(PortalEmulatorTest, ServesConcurrentRequestsWhileTheDataChanges) {
  SetSf(200);
  std::atomic<int> answered{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!done) {
        httplib::Result result = Get("/resource/bpnb-jwfb.csv?$order=:id&$limit=50");
        EXPECT_TRUE(result && result->status == 200);
        if (result) {
          EXPECT_EQ(ParseCsv(result->body).size(), 51u);
        }
        ++answered;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    portal_->SetSocrataDataset("bpnb-jwfb", kSfColumns, SfRows(100 + i), kJan2 + i * 1s);
    portal_->AddFault({.fault = Fault::Delay(1ms)});
  }
  while (answered < 40) std::this_thread::sleep_for(1ms);
  done = true;
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(portal_->CountRequests(), size_t(answered.load()));
}

// --- Request log ---------------------------------------------------------------------------------

TEST_F(PortalEmulatorTest, RequestLogRecordsTargetTokenValidatorAndStatus) {
  SetSf(3);
  const std::string etag = Get("/resource/bpnb-jwfb.csv")->get_header_value("ETag");
  Get("/resource/bpnb-jwfb.csv", {{"X-App-Token", "t"}, {"If-None-Match", etag}});
  Get("/api/views/bpnb-jwfb.json", {{"Accept-Encoding", "gzip"}});

  const std::vector<RecordedRequest> log = portal_->Requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].target, "/resource/bpnb-jwfb.csv");
  EXPECT_FALSE(log[0].app_token);
  EXPECT_EQ(log[0].status, 200);
  EXPECT_TRUE(log[1].app_token);
  EXPECT_EQ(log[1].if_none_match, etag);
  EXPECT_EQ(log[1].status, 304);
  EXPECT_EQ(log[2].path, "/api/views/bpnb-jwfb.json");
  EXPECT_EQ(log[2].accept_encoding, "gzip");
  EXPECT_EQ(portal_->CountRequests("/resource/"), 2u);
  EXPECT_EQ(portal_->CountRequests(), 3u);
  portal_->ClearRequests();
  EXPECT_EQ(portal_->CountRequests(), 0u);
}

// --- CKAN
// ------------------------------------------------------------------------------------------

class CkanEmulatorTest : public PortalEmulatorTest {
 protected:
  const PortalTime kJuly = PortalTime{sys_days{std::chrono::year{2021} / 8 / 3} + 17h};
  const PortalTime kAugust = PortalTime{sys_days{std::chrono::year{2021} / 9 / 2} + 9h};

  CkanResource July() {
    return {.id = "0b7e1c8a-1111-4d0e-9c7a-2f0e5d9b1a01",
            .name = "July 2021",
            .bytes = ReadSourceFile("data/reference/phoenix/sample_rows.csv")};
  }
  CkanResource August() {
    return {.id = "0b7e1c8a-2222-4d0e-9c7a-2f0e5d9b1a02",
            .name = "August 2021",
            .bytes = PhoenixCsv(20)};
  }
  json PackageShow() { return GetJson("/api/3/action/package_show?id=city-checkbook")["result"]; }
};

TEST_F(CkanEmulatorTest, PackageShowListsResourcesWithUrlsHashesAndSizes) {
  portal_->SetCkanPackage("city-checkbook", {July(), August()}, kJuly);
  const json envelope = GetJson("/api/3/action/package_show?id=city-checkbook");
  EXPECT_EQ(envelope["success"], true);
  const json& package = envelope["result"];
  EXPECT_EQ(package["name"], "city-checkbook");
  EXPECT_EQ(package["metadata_modified"], "2021-08-03T17:00:00.000000");
  ASSERT_EQ(package["resources"].size(), 2u);
  const json& july = package["resources"][0];
  EXPECT_EQ(july["id"], July().id);
  EXPECT_EQ(july["name"], "July 2021");
  EXPECT_EQ(july["format"], "CSV");
  EXPECT_EQ(july["url"], portal_->base_url() + "/dataset/city-checkbook/resource/" + July().id +
                             "/download/july-2021.csv");
  EXPECT_EQ(july["hash"], internal::Sha256Hex(July().bytes));
  EXPECT_EQ(july["size"], July().bytes.size());
  EXPECT_EQ(july["last_modified"], "2021-08-03T17:00:00.000000");
  // The package id works as well as its name.
  EXPECT_EQ(GetJson("/api/3/action/package_show?id=" +
                    package["id"].get<std::string>())["result"]["name"],
            "city-checkbook");
}

TEST_F(CkanEmulatorTest, DownloadServesTheBytesWithValidators) {
  portal_->SetCkanPackage("city-checkbook", {July()}, kJuly);
  const std::string url = PackageShow()["resources"][0]["url"];
  const std::string path = url.substr(portal_->base_url().size());
  httplib::Result result = Get(path);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, July().bytes);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/csv");
  EXPECT_EQ(result->get_header_value("Last-Modified"), "Tue, 03 Aug 2021 17:00:00 GMT");
  const std::string etag = result->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(StatusOf(path, {{"If-None-Match", etag}}), 304);
  EXPECT_EQ(StatusOf(path, {{"If-Modified-Since", "Tue, 03 Aug 2021 17:00:00 GMT"}}), 304);
  EXPECT_EQ(StatusOf(path, {{"If-Modified-Since", "Tue, 03 Aug 2021 16:59:59 GMT"}}), 200);

  CkanResource changed = July();
  changed.bytes += "7/30/2021,Library,ACME BOOKS INC,Books,\"1,000.00\"\n";
  portal_->SetCkanPackage("city-checkbook", {changed}, kAugust);
  httplib::Result after = Get(path, {{"If-None-Match", etag}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(after->body, changed.bytes);
}

TEST_F(CkanEmulatorTest, DatastoreSearchReturnsRowsWithIdsFromTheCsv) {
  portal_->SetCkanPackage("city-checkbook", {July()}, kJuly);
  const json result = GetJson("/api/3/action/datastore_search?resource_id=" + July().id)["result"];
  EXPECT_EQ(result["limit"], 100);  // CKAN's default
  EXPECT_EQ(result["total"], 7);
  ASSERT_EQ(result["records"].size(), 7u);
  const json& first = result["records"][1];
  EXPECT_EQ(first["_id"], 2);
  EXPECT_EQ(first["Check/Payment Date"], "7/14/2021");
  EXPECT_EQ(first["Dept. Descrptn"], "Police");
  EXPECT_EQ(first["Vendor Name"], "21ST CENTURY POLICING LLC");
  EXPECT_EQ(first["Invoice Net Amt"], "27,678.75");
  EXPECT_EQ(result["fields"][0]["id"], "_id");
  EXPECT_EQ(result["fields"][5]["id"], "Invoice Net Amt");
}

TEST_F(CkanEmulatorTest, DatastoreSearchSurvivesBytesThatAreNotUtf8) {
  // A Latin-1 file: "CAF\xC9 ROMA" is not UTF-8; the download stays byte-exact.
  const std::string latin1 = "Vendor Name,Note\nCAF\xC9 ROMA,\"tab\there\"\n";
  portal_->SetCkanPackage("latin", {{.id = "l1", .name = "Latin", .bytes = latin1}});
  const json record =
      GetJson("/api/3/action/datastore_search?resource_id=l1")["result"]["records"][0];
  EXPECT_EQ(record["Vendor Name"], "CAF\uFFFD ROMA");
  EXPECT_EQ(record["Note"], "tab\there");
  EXPECT_EQ(GetOk("/dataset/latin/resource/l1/download/latin.csv"), latin1);
}

TEST_F(CkanEmulatorTest, DatastoreSearchCapsTheLimitSilentlyAndEchoesIt) {
  // One narrow column keeps 32,000 records quick to parse in sanitizer builds.
  std::string csv = "Invoice Net Amt\n";
  for (int i = 0; i < 32'500; ++i) csv += "\"" + std::to_string(1000 + i) + ",000.00\"\n";
  portal_->SetCkanPackage("city-checkbook", {{.id = "big", .name = "July", .bytes = csv}});

  // Paging by the echoed limit reads every row once; a loop that stopped at
  // the first page shorter than it asked for (32000 < 100000) would lose 500.
  std::set<int> ids;
  size_t rows = 0;
  for (int offset = 0, pages = 0; pages < 5; ++pages) {
    const json page =
        GetJson("/api/3/action/datastore_search?resource_id=big&limit=100000&offset=" +
                std::to_string(offset))["result"];
    EXPECT_EQ(page["limit"], 32'000);
    EXPECT_EQ(page["total"], 32'500);
    EXPECT_EQ(page["records"].size(), offset == 0 ? 32'000u : 500u);
    for (const json& record : page["records"]) ids.insert(record["_id"].get<int>()), ++rows;
    offset += page["limit"].get<int>();
    if (offset >= page["total"].get<int>()) break;
  }
  EXPECT_EQ(rows, 32'500u);
  EXPECT_EQ(ids.size(), 32'500u);
  EXPECT_EQ(*ids.begin(), 1);
  EXPECT_EQ(*ids.rbegin(), 32'500);
}

TEST_F(CkanEmulatorTest, DatastoreSearchValidatesItsIntegers) {
  portal_->SetCkanPackage("city-checkbook", {July()});
  httplib::Result result =
      Get("/api/3/action/datastore_search?resource_id=" + July().id + "&limit=ten");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 409);
  EXPECT_EQ(json::parse(result->body)["error"]["__type"], "Validation Error");
  EXPECT_EQ(StatusOf("/api/3/action/datastore_search"), 409);
  EXPECT_EQ(StatusOf("/api/3/action/resource_search"), 400);
}

TEST_F(CkanEmulatorTest, AddingAResourceChangesMetadataModifiedButNotLastModified) {
  portal_->SetCkanPackage("city-checkbook", {July()}, kJuly);
  const json before = PackageShow();
  portal_->UpsertCkanResource("city-checkbook", August(), kAugust);
  const json after = PackageShow();
  EXPECT_EQ(after["metadata_modified"], "2021-09-02T09:00:00.000000");
  ASSERT_EQ(after["resources"].size(), 2u);
  EXPECT_EQ(after["resources"][0]["last_modified"], before["resources"][0]["last_modified"]);
  EXPECT_EQ(after["resources"][0]["hash"], before["resources"][0]["hash"]);
  EXPECT_EQ(after["resources"][1]["last_modified"], "2021-09-02T09:00:00.000000");
}

TEST_F(CkanEmulatorTest, ChangingBytesChangesLastModifiedHashAndSize) {
  portal_->SetCkanPackage("city-checkbook", {July(), August()});
  const json before = PackageShow();
  CkanResource july = July();
  july.bytes += "7/30/2021,Library,ACME BOOKS INC,Books,\"1,000.00\"\n";
  portal_->UpsertCkanResource("city-checkbook", july);
  const json after = PackageShow();
  EXPECT_NE(after["metadata_modified"], before["metadata_modified"]);
  EXPECT_NE(after["resources"][0]["last_modified"], before["resources"][0]["last_modified"]);
  EXPECT_EQ(after["resources"][0]["hash"], internal::Sha256Hex(july.bytes));
  EXPECT_EQ(after["resources"][0]["size"], july.bytes.size());
  EXPECT_EQ(after["resources"][1], before["resources"][1]);
}

TEST_F(CkanEmulatorTest, RenamingChangesOnlyMetadataModifiedAndSameUploadChangesNothing) {
  portal_->SetCkanPackage("city-checkbook", {July(), August()});
  const json first = PackageShow();
  portal_->SetCkanPackage("city-checkbook", {July(), August()});
  EXPECT_EQ(PackageShow(), first);

  CkanResource renamed = August();
  renamed.name = "Aug 2021";
  renamed.file_name = "august-2021.csv";
  portal_->SetCkanPackage("city-checkbook", {July(), renamed});
  const json after = PackageShow();
  EXPECT_NE(after["metadata_modified"], first["metadata_modified"]);
  EXPECT_EQ(after["resources"][1]["last_modified"], first["resources"][1]["last_modified"]);
  EXPECT_EQ(after["resources"][1]["name"], "Aug 2021");
}

TEST_F(CkanEmulatorTest, ActionsAcceptPostWithAJsonBodyAndOtherWritesGet405) {
  portal_->SetCkanPackage("city-checkbook", {July()});
  httplib::Client client(portal_->base_url());
  httplib::Result result = client.Post(
      "/api/3/action/datastore_search",
      R"({"resource_id": ")" + July().id + R"(", "limit": 2, "offset": 1})", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  const json page = json::parse(result->body)["result"];
  EXPECT_EQ(page["limit"], 2);
  ASSERT_EQ(page["records"].size(), 2u);
  EXPECT_EQ(page["records"][0]["_id"], 2);

  httplib::Result refused = client.Delete("/resource/bpnb-jwfb.csv");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 405);
  EXPECT_EQ(portal_->Requests().back().method, "DELETE");
}

TEST_F(CkanEmulatorTest, HashCanBeLeftEmptyLikeSomePortals) {
  CkanResource july = July();
  july.hash = "";
  portal_->SetCkanPackage("city-checkbook", {july});
  EXPECT_EQ(PackageShow()["resources"][0]["hash"], "");
}

TEST_F(CkanEmulatorTest, MisuseIsReportedAsInvalidArgument) {
  EXPECT_THROW(portal_->SetCkanPackage("p", {July(), July()}), std::invalid_argument);
  portal_->SetCkanPackage("p", {July()});
  EXPECT_THROW(portal_->SetCkanPackage("q", {July()}), std::invalid_argument);
  EXPECT_THROW(portal_->SetSocrataDataset("x", {"a", "b"}, {{"1"}}, kJan2), std::invalid_argument);
  EXPECT_THROW(portal_->UpdateSocrataRows("missing", {}, {}, kJan2), std::invalid_argument);
  EXPECT_THROW(portal_->AddFault({.every = 0}), std::invalid_argument);
}

// --- The command-line server ---------------------------------------------------------------------

class PortalEmulatorMain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("portal_emulator_main_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    std::filesystem::remove_all(dir_);
  }

  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // Starts the binary with stdout on a pipe; returns the first stdout line.
  std::string Launch(std::vector<std::string> args) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return {};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
    args.insert(args.begin(), PORTAL_EMULATOR_BINARY);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int spawned =
        posix_spawn(&pid_, PORTAL_EMULATOR_BINARY, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (spawned != 0) pid_ = 0;
    // The read end stays open until Finish(), so the child never gets SIGPIPE.
    stdout_fd_ = pipe_fds[0];
    std::string line;
    char c;
    while (::read(stdout_fd_, &c, 1) == 1 && c != '\n') line.push_back(c);
    return line;
  }

  // Sends `signal` and returns the exit status, or -1 when not a normal exit.
  int Finish(int signal) {
    if (signal != 0) ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    ::close(stdout_fd_);
    stdout_fd_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::filesystem::path dir_;
  pid_t pid_ = 0;
  int stdout_fd_ = -1;
};

TEST_F(PortalEmulatorMain, ServesFilesGivenOnTheCommandLineUntilSigterm) {
  std::string sf;
  AppendCsvRecord(kSfColumns, {}, &sf);
  for (const CsvFields& row : SfRows(30)) AppendCsvRecord(row, {}, &sf);
  const std::string sf_path = Write("sf.csv", sf);
  const std::string july = Write("jul.csv", PhoenixCsv(7));
  const std::string august = Write("aug.csv", PhoenixCsv(9));

  const std::string line =
      Launch({"--port", "0", "--socrata", "bpnb-jwfb=" + sf_path, "--ckan",
              "city-checkbook=" + july + "," + august, "--fault", "/resource/:503:times=1"});
  ASSERT_TRUE(line.starts_with("listening on 127.0.0.1:")) << line;
  const std::string base = "http://" + line.substr(std::string("listening on ").size());

  httplib::Client client(base);
  EXPECT_EQ(client.Get("/resource/bpnb-jwfb.csv")->status, 503);
  httplib::Result count = client.Get("/resource/bpnb-jwfb.csv?$select=count(*)");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->body, "\"count\"\n\"30\"\n");
  httplib::Result package = client.Get("/api/3/action/package_show?id=city-checkbook");
  ASSERT_TRUE(package);
  const json resources = json::parse(package->body)["result"]["resources"];
  ASSERT_EQ(resources.size(), 2u);
  EXPECT_EQ(resources[1]["name"], "aug");
  const std::string url = resources[1]["url"];
  EXPECT_EQ(client.Get(url.substr(base.size()))->body, PhoenixCsv(9));

  EXPECT_EQ(Finish(SIGTERM), 0);
}

TEST_F(PortalEmulatorMain, BadArgumentsExitWithStatus2) {
  EXPECT_EQ(Launch({"--socrata", "no-equals-sign"}), "");
  EXPECT_EQ(Finish(0), 2);
  EXPECT_EQ(Launch({"--socrata", "x=" + (dir_ / "missing.csv").string()}), "");
  EXPECT_EQ(Finish(0), 2);
  EXPECT_EQ(Launch({"--fault", "/resource/:sometimes"}), "");
  EXPECT_EQ(Finish(0), 2);
}

}  // namespace
}  // namespace citybooks::emulator

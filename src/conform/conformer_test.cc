#include "conform/conformer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/byte_source.h"
#include "common/threaded_csv_reader.h"

namespace citybooks {
namespace {

// A two-level mapping small enough to reason about by hand.
Mapping TestMapping() {
  auto mapping = ParseMapping(R"(
name = "test"
fact_table = "fact_t"
fiscal_year = "year"
amount = "amount"
[[dimensions]]
name = "org"
levels = [{ name = "dept", code = "dept_code" }, { name = "prog", code = "prog_code" }]
attributes = ["flag"]
[cleaning.null_placeholders]
prog = "No Program"
prog_code = "No Program Code"
[cleaning.value_maps.flag]
NO = "No"
)",
                              "test.toml");
  EXPECT_TRUE(mapping) << mapping.error().message();
  return *mapping;
}

CsvRecord Record(std::vector<std::string_view> fields) {
  static std::string raw;
  raw.clear();
  for (std::string_view field : fields) raw.append(field).push_back(',');
  CsvRecord record;
  record.fields = std::move(fields);
  record.raw = raw;
  return record;
}

class ConformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    builders_.emplace_back(mapping_, mapping_.dimensions[0]);
    auto conformer = RowConformer::Make(
        mapping_, &builders_, {"year", "dept", "dept_code", "prog", "prog_code", "flag", "amount"},
        "f.csv");
    ASSERT_TRUE(conformer) << conformer.error().message();
    conformer_.emplace(std::move(*conformer));
  }

  bool Conform(std::vector<std::string_view> fields) {
    ConformedFact fact;
    RowProblem problem;
    bool ok = conformer_->Conform(Record(std::move(fields)), &fact, &problem);
    last_fact_ = fact;
    last_problem_ = problem;
    return ok;
  }

  Mapping mapping_ = TestMapping();
  std::vector<DimensionBuilder> builders_;
  std::optional<RowConformer> conformer_;
  ConformedFact last_fact_;
  RowProblem last_problem_;
};

TEST_F(ConformerTest, ConformsAGoodRow) {
  ASSERT_TRUE(Conform({"2020", "Police", "POL", "Patrol", "P1", "No", "12.50"}));
  EXPECT_EQ(last_fact_.fiscal_year, 2020);
  EXPECT_EQ(last_fact_.cents, 1250);
  EXPECT_EQ(last_fact_.member_ids[0], 1);
}

TEST_F(ConformerTest, SameNamePathDifferentCaseIsOneMember) {
  ASSERT_TRUE(Conform({"2020", "Police", "POL", "Patrol", "P1", "No", "1"}));
  int64_t first = last_fact_.member_ids[0];
  ASSERT_TRUE(Conform({"2021", " POLICE ", "POL", "patrol", "P1", "No", "1"}));
  EXPECT_EQ(last_fact_.member_ids[0], first);
  ASSERT_TRUE(Conform({"2021", "Police", "POL", "Investigations", "P2", "No", "1"}));
  EXPECT_NE(last_fact_.member_ids[0], first);
}

TEST_F(ConformerTest, ManyToOneKeepsMostFrequentCodeAndRecordsRemaps) {
  ASSERT_TRUE(Conform({"2020", "General City", "GEN", "Ops", "O1", "No", "1"}));
  ASSERT_TRUE(Conform({"2020", "General City", "GEN", "Ops", "O1", "No", "1"}));
  ASSERT_TRUE(Conform({"2021", "general city", "UNA", "Ops", "O1", "No", "1"}));
  std::vector<DimensionBuilder::Member> members;
  std::vector<DimensionBuilder::Remap> remaps;
  builders_[0].Resolve(&members, &remaps);
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].values,
            (std::vector<std::string>{"General City", "GEN", "Ops", "O1", "No"}));
  ASSERT_EQ(remaps.size(), 1u);
  EXPECT_EQ(remaps[0].level, "dept");
  EXPECT_EQ(remaps[0].name_path, "General City");
  EXPECT_EQ(remaps[0].from_code, "UNA");
  EXPECT_EQ(remaps[0].to_code, "GEN");
  EXPECT_EQ(remaps[0].rows, 1);
}

TEST_F(ConformerTest, NullPlaceholdersAndValueMapsApply) {
  ASSERT_TRUE(Conform({"2020", "Probation", "ADP", "", "", "NO", "1"}));
  std::vector<DimensionBuilder::Member> members;
  std::vector<DimensionBuilder::Remap> remaps;
  builders_[0].Resolve(&members, &remaps);
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].values,
            (std::vector<std::string>{"Probation", "ADP", "No Program", "No Program Code", "No"}));
}

TEST_F(ConformerTest, ExistingMembersKeepTheirIds) {
  std::vector<DimensionBuilder> builders;
  builders.emplace_back(mapping_, mapping_.dimensions[0]);
  builders[0].SeedExisting(std::string("police\x1fpatrol\x1f"), 41,
                           {"Police", "POL", "Patrol", "P1", "No"});
  auto conformer = RowConformer::Make(
      mapping_, &builders, {"year", "dept", "dept_code", "prog", "prog_code", "flag", "amount"},
      "f.csv");
  ASSERT_TRUE(conformer);
  ConformedFact fact;
  RowProblem problem;
  ASSERT_TRUE(conformer->Conform(Record({"2020", "Police", "POL", "Patrol", "P1", "No", "1"}),
                                 &fact, &problem));
  EXPECT_EQ(fact.member_ids[0], 41);
  ASSERT_TRUE(
      conformer->Conform(Record({"2020", "Fire", "FIR", "Ops", "F1", "No", "1"}), &fact, &problem));
  EXPECT_EQ(fact.member_ids[0], 42);
}

TEST_F(ConformerTest, CodesAndSpellingsDecidedByEarlierLoadsStick) {
  std::vector<DimensionBuilder> builders;
  builders.emplace_back(mapping_, mapping_.dimensions[0]);
  builders[0].SeedExisting(std::string("general city\x1fops\x1f"), 7,
                           {"General City", "GEN", "Ops", "O1", "No"});
  auto conformer = RowConformer::Make(
      mapping_, &builders, {"year", "dept", "dept_code", "prog", "prog_code", "flag", "amount"},
      "f.csv");
  ASSERT_TRUE(conformer);
  ConformedFact fact;
  RowProblem problem;
  // This load sees only the other code and another spelling, twice.
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(conformer->Conform(Record({"2024", "GENERAL CITY", "UNA", "Ops", "O1", "No", "1"}),
                                   &fact, &problem));
  EXPECT_EQ(fact.member_ids[0], 7);
  std::vector<DimensionBuilder::Member> members;
  std::vector<DimensionBuilder::Remap> remaps;
  builders[0].Resolve(&members, &remaps);
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].values,
            (std::vector<std::string>{"General City", "GEN", "Ops", "O1", "No"}));
  ASSERT_EQ(remaps.size(), 1u);
  EXPECT_EQ(remaps[0].from_code, "UNA");
  EXPECT_EQ(remaps[0].to_code, "GEN");
  EXPECT_EQ(remaps[0].rows, 2);
}

TEST_F(ConformerTest, QuarantinesBadRowsWithReasons) {
  EXPECT_FALSE(Conform({"2020", "Police", "POL"}));
  EXPECT_EQ(last_problem_.reason, "expected 7 fields, found 3");
  EXPECT_FALSE(Conform({"20x1", "Police", "POL", "Patrol", "P1", "No", "5.00"}));
  EXPECT_EQ(last_problem_.reason, "year '20x1' is not a year from 1900 to 2100");
  EXPECT_TRUE(last_problem_.amount_parsed);
  EXPECT_EQ(last_problem_.cents, 500);
  EXPECT_FALSE(Conform({"2020", "Police", "POL", "Patrol", "P1", "No", "12.3.4"}));
  EXPECT_EQ(last_problem_.reason, "amount '12.3.4' is not an amount");
  EXPECT_FALSE(last_problem_.amount_parsed);
  EXPECT_FALSE(Conform({"year", "dept", "dept_code", "prog", "prog_code", "flag", "amount"}));
  EXPECT_EQ(last_problem_.reason, "repeated header row");
  EXPECT_FALSE(Conform({"2020", "Pol\xff", "POL", "Patrol", "P1", "No", "1"}));
}

// Rows read from a file take the stretch path when their values are views of
// the raw line holding no quote; the same rows given value by value take the
// other. Both must give
// the same members, ids, spellings, codes and remap counts, whatever the
// quoting, the column order of the file, or doubled quotes that make a value
// a copy of its own.
TEST(RowConformer, StretchesOfTheLineAndSingleValuesAgree) {
  const Mapping mapping = TestMapping();
  const std::string file_a =
      "year,dept,dept_code,prog,prog_code,flag,amount\n"
      "2020,Police,POL,Patrol,P1,No,1\n"
      "2020,\"Police\",POL,\"Patrol\",P1,No,2\n"
      "2020,Police,POL,Patrol,P1,No,3\n"
      "2021,\"Police, City\",PC,Patrol,P1,NO,4\n"
      "2021,\"Police, City\",PX,Patrol,P1,NO,5\n"
      "2021,\"Say \"\"Hi\"\"\",SH,,,No,6\n"
      "2021,\"Say \"\"Hi\"\"\",SH,,,No,7\n"
      "2022, police ,POL,patrol,P2,No,8\n"
      "2022,\"\",,\"\",,,9\n"
      // The same bytes after the first quote, once quoted and once not.
      "2023,\"x\",C1,P,P1,No,16\n"
      "2023,x\",C1,P,P1,No,17\n"
      // A line break inside the last value, and doubled quotes in the middle.
      "2023,A,A1,\"say \"\"a\"\"\",S1,\"No\nreally\",18\n"
      "2023,A,A1,\"say \"\"a\"\"\",S1,\"No\nreally\",19\n";
  const std::string file_b =  // the same dimension columns, in another order
      "amount,flag,prog_code,prog,dept_code,dept,year\n"
      "10,No,P1,Patrol,POL,Police,2020\n"
      "11,NO,P1,Patrol,PC,\"Police, City\",2021\n"
      "12,No,P1,Patrol,POL,Police,2020\n";
  const std::string file_c =  // the bytes of file_a's first row, the code before the name
      "year,dept_code,dept,prog,prog_code,flag,amount\n"
      "2020,Police,POL,Patrol,P1,No,13\n";

  struct Outcome {
    std::vector<int64_t> ids;
    std::vector<DimensionBuilder::Member> members;
    std::vector<DimensionBuilder::Remap> remaps;
    size_t stretch_tuples = 0;
  };
  // Conforms both files' records, as read (views of the line) or as copies.
  enum class Path { kStretches, kValues, kThreadedStretches };
  auto run = [&](Path path) {
    const bool copies = path == Path::kValues;
    Outcome outcome;
    std::vector<DimensionBuilder> builders;
    builders.emplace_back(mapping, mapping.dimensions[0]);
    for (const std::string* text : {&file_a, &file_b, &file_c}) {
      // The load's reader keeps records in batches of its own.
      std::unique_ptr<CsvReader> plain;
      std::unique_ptr<ThreadedCsvReader> threaded;
      if (path == Path::kThreadedStretches) {
        threaded = std::make_unique<ThreadedCsvReader>(MakeStringSource(*text, "f.csv"));
      } else {
        plain = std::make_unique<CsvReader>(MakeStringSource(*text, "f.csv"));
      }
      auto next = [&](CsvRecord* record) {
        return threaded ? threaded->Next(record) : plain->Next(record);
      };
      CsvRecord record;
      auto header = next(&record);
      EXPECT_TRUE(header && *header);
      auto conformer = RowConformer::Make(mapping, &builders, record.fields, "f.csv");
      EXPECT_TRUE(conformer) << conformer.error().message();
      while (true) {
        auto more = next(&record);
        EXPECT_TRUE(more);
        if (!more || !*more) break;
        std::vector<std::string> owned(record.fields.begin(), record.fields.end());
        CsvRecord copy = record;
        if (copies) copy.fields.assign(owned.begin(), owned.end());
        ConformedFact fact;
        RowProblem problem;
        EXPECT_TRUE(conformer->Conform(copy, &fact, &problem)) << problem.reason;
        outcome.ids.push_back(fact.member_ids[0]);
      }
    }
    builders[0].Resolve(&outcome.members, &outcome.remaps);
    outcome.stretch_tuples = builders[0].stretch_tuples();
    return outcome;
  };
  const Outcome stretches = run(Path::kStretches);
  const Outcome values = run(Path::kValues);
  const Outcome threaded = run(Path::kThreadedStretches);
  ASSERT_EQ(stretches.ids.size(), 17u);
  EXPECT_EQ(stretches.ids, values.ids);
  EXPECT_EQ(threaded.ids, values.ids);
  EXPECT_EQ(threaded.stretch_tuples, stretches.stretch_tuples);
  ASSERT_EQ(stretches.members.size(), values.members.size());
  for (size_t i = 0; i < values.members.size(); ++i) {
    EXPECT_EQ(stretches.members[i].id, values.members[i].id);
    EXPECT_EQ(stretches.members[i].key, values.members[i].key);
    EXPECT_EQ(stretches.members[i].values, values.members[i].values);
  }
  ASSERT_EQ(stretches.remaps.size(), values.remaps.size());
  for (size_t i = 0; i < values.remaps.size(); ++i) {
    EXPECT_EQ(stretches.remaps[i].name_path, values.remaps[i].name_path);
    EXPECT_EQ(stretches.remaps[i].from_code, values.remaps[i].from_code);
    EXPECT_EQ(stretches.remaps[i].rows, values.remaps[i].rows);
  }
  // Rows 1-3 and file b's 10 and 12 are one member; "Police, City" with codes
  // PC (twice) and PX is another, PX remapped; the doubled quotes and the
  // empty names are members of their own; " police " folds into Police.
  EXPECT_EQ(stretches.ids[0], stretches.ids[1]);
  EXPECT_EQ(stretches.ids[0], stretches.ids[2]);
  EXPECT_EQ(stretches.ids[0], stretches.ids[13]);
  EXPECT_EQ(stretches.ids[3], stretches.ids[4]);
  EXPECT_EQ(stretches.ids[3], stretches.ids[14]);
  EXPECT_EQ(stretches.ids[5], stretches.ids[6]);
  EXPECT_NE(stretches.ids[0], stretches.ids[3]);
  std::map<std::string, std::pair<std::string, int64_t>> remapped;  // from -> (to, rows)
  for (const auto& remap : stretches.remaps)
    remapped[remap.from_code] = {remap.to_code, remap.rows};
  EXPECT_EQ(remapped, (std::map<std::string, std::pair<std::string, int64_t>>{{"PX", {"PC", 1}},
                                                                              {"P2", {"P1", 1}}}));
  // The same bytes in file c name department "POL" coded "Police".
  EXPECT_NE(stretches.ids[16], stretches.ids[0]);
  // "x" and x" are different departments; the rows with a line break agree.
  EXPECT_NE(stretches.ids[9], stretches.ids[10]);
  EXPECT_EQ(stretches.ids[11], stretches.ids[12]);
  // The first run stored every distinct stretch (all but the two rows whose
  // first value has doubled quotes, a copy); the second none.
  EXPECT_EQ(stretches.stretch_tuples, 12u);
  EXPECT_EQ(values.stretch_tuples, 0u);
  const auto police = std::find_if(stretches.members.begin(), stretches.members.end(),
                                   [&](const auto& m) { return m.id == stretches.ids[0]; });
  ASSERT_NE(police, stretches.members.end());
  EXPECT_EQ(police->values, (std::vector<std::string>{"Police", "POL", "Patrol", "P1", "No"}));
}

TEST(RowConformer, HeaderMissingColumnsIsOneClearError) {
  Mapping mapping = TestMapping();
  std::vector<DimensionBuilder> builders;
  builders.emplace_back(mapping, mapping.dimensions[0]);
  auto conformer = RowConformer::Make(mapping, &builders, {"year", "dept"}, "bad.csv");
  ASSERT_FALSE(conformer);
  EXPECT_EQ(conformer.error().code(), ErrorCode::kDataError);
  EXPECT_NE(conformer.error().message().find("bad.csv: the header lacks columns amount, dept_code"),
            std::string::npos)
      << conformer.error().message();
}

TEST(RowConformer, DuplicatedHeaderColumnIsOneClearError) {
  Mapping mapping = TestMapping();
  std::vector<DimensionBuilder> builders;
  builders.emplace_back(mapping, mapping.dimensions[0]);
  auto conformer = RowConformer::Make(
      mapping, &builders,
      {"year", "dept", "dept_code", "prog", "prog_code", "flag", "amount", "amount"}, "dup.csv");
  ASSERT_FALSE(conformer);
  EXPECT_NE(conformer.error().message().find("names column 'amount' more than once"),
            std::string::npos)
      << conformer.error().message();
}

TEST(RowConformer, HeaderMatchesCaseInsensitivelyAndTrimmed) {
  Mapping mapping = TestMapping();
  std::vector<DimensionBuilder> builders;
  builders.emplace_back(mapping, mapping.dimensions[0]);
  auto conformer = RowConformer::Make(
      mapping, &builders, {"YEAR", " Dept", "dept_code", "prog", "prog_code", "flag", "Amount"},
      "f.csv");
  EXPECT_TRUE(conformer) << conformer.error().message();
}

}  // namespace
}  // namespace citybooks

namespace citybooks {
namespace {

TEST(NormalizeVendorName, FoldsCasePunctuationAndLegalSuffixes) {
  EXPECT_EQ(NormalizeVendorName("21ST CENTURY POLICING LLC"), "21ST CENTURY POLICING");
  EXPECT_EQ(NormalizeVendorName("Acme Supply, Inc."), "ACME SUPPLY");
  EXPECT_EQ(NormalizeVendorName("ACME SUPPLY INC"), "ACME SUPPLY");
  EXPECT_EQ(NormalizeVendorName("  acme   supply co, l.l.c. "), "ACME SUPPLY");
  EXPECT_EQ(NormalizeVendorName("O'Brien & Sons Corp"), "OBRIEN & SONS");
  EXPECT_EQ(NormalizeVendorName("LLC"), "LLC");  // never empty
}

TEST(ParseDate, ReadsMonthDayYearAndIso) {
  EXPECT_EQ(ParseDate("7/14/2021", DateFormat::kMonthDayYear), 20210714);
  EXPECT_EQ(ParseDate("12/1/2021 12:00:00 AM", DateFormat::kMonthDayYear), 20211201);
  EXPECT_EQ(ParseDate("2021-07-14", DateFormat::kIso), 20210714);
  EXPECT_FALSE(ParseDate("2/30/2021", DateFormat::kMonthDayYear));
  EXPECT_FALSE(ParseDate("14/7/2021", DateFormat::kMonthDayYear));
  EXPECT_FALSE(ParseDate("July 14", DateFormat::kMonthDayYear));
  EXPECT_FALSE(ParseDate("", DateFormat::kIso));
}

TEST(RowConformer, DerivesFiscalYearAndMonthFromTheDate) {
  auto mapping = LoadMapping("phoenix-checkbook");
  ASSERT_TRUE(mapping);
  std::vector<DimensionBuilder> builders;
  for (const DimensionSpec& dimension : mapping->dimensions)
    builders.emplace_back(*mapping, dimension);
  auto conformer = RowConformer::Make(*mapping, &builders,
                                      {"Check/Payment Date", "Dept. Descrptn", "Vendor Name",
                                       "Commitmt Item Name", "Invoice Net Amt"},
                                      "jul.csv");
  ASSERT_TRUE(conformer) << conformer.error().message();
  ConformedFact fact;
  RowProblem problem;
  CsvRecord record;
  record.raw = "x";
  record.fields = {"7/14/2021", "Police", "21ST CENTURY POLICING LLC", "Cons/Other Prof Svcs",
                   "27,678.75"};
  ASSERT_TRUE(conformer->Conform(record, &fact, &problem)) << problem.reason;
  EXPECT_EQ(fact.date, 20210714);
  EXPECT_EQ(fact.fiscal_year, 2022);  // FY2022 starts on July 1, 2021
  EXPECT_EQ(fact.fiscal_month, 1);
  EXPECT_EQ(fact.partition, 202201);
  EXPECT_EQ(fact.cents, 2767875);
  record.fields = {"6/30/2021", "Police", "X", "Y", "(1,234.00)"};
  ASSERT_TRUE(conformer->Conform(record, &fact, &problem)) << problem.reason;
  EXPECT_EQ(fact.fiscal_year, 2021);
  EXPECT_EQ(fact.fiscal_month, 12);
  EXPECT_EQ(fact.cents, -123400);
  record.fields = {"13/1/2021", "Police", "X", "Y", "1.00"};
  ASSERT_FALSE(conformer->Conform(record, &fact, &problem));
  EXPECT_EQ(problem.reason,
            "Check/Payment Date '13/1/2021' is not a date (M/D/YYYY) in fiscal years 2000 to 2100");
}

}  // namespace
}  // namespace citybooks

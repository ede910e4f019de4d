// Throughput of the CSV hot path over ~100k rows shaped like San Francisco's
// "Spending and Revenue" extract: 24 columns, a few quoted values holding
// commas, single quotes inside values, CRLF-free LF line ends as Socrata
// exports them.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/byte_source.h"
#include "common/csv_reader.h"

namespace citybooks {
namespace {

constexpr int kRows = 100'000;

struct CodeName {
  const char* code;
  const char* name;
};

// Dimension members as they appear in the real extract.
constexpr CodeName kOrganizationGroups[] = {
    {"01", "Public Protection"},
    {"02", "Public Works, Transportation & Commerce"},
    {"03", "Human Welfare & Neighborhood Development"},
    {"04", "Community Health"},
    {"05", "Culture & Recreation"},
    {"06", "General Administration & Finance"},
    {"07", "General City Responsibilities"},
};
constexpr CodeName kDepartments[] = {
    {"POL", "POL Police"},
    {"PRT", "PRT Port"},
    {"DPH", "DPH Public Health"},
    {"MTA", "MTA Municipal Transprtn Agncy"},
    {"REC", "REC Recreation & Park Commsn"},
    {"GEN", "GEN General City / Unallocated"},
    {"DPW", "DPW GSA - Public Works"},
    {"PAB", "BOA Board Of Appeals - PAB"},
};
constexpr CodeName kPrograms[] = {
    {"EVENT", "Special Events"},      {"OPR", "Operating"},
    {"BAW", "City Capital Projects"}, {"XXX", "No Program Defined"},
    {"FBB", "Parking & Traffic"},     {"CHF", "Street Environmental Services"},
};
constexpr CodeName kCharacters[] = {
    {"425", "Fines; Forfeitures & Penalties"}, {"501", "Salaries"},
    {"440", "Intergovernmental Rev-Federal"},  {"475", "Other Revenues"},
    {"591", "Operating Transfers Out"},        {"430", "Rents, Concessions & Leases"},
};
constexpr CodeName kObjects[] = {
    {"425", "Court Fines-Non Traffic"},        {"501", "Perm Salaries-Misc-Regular"},
    {"440", "Federal-Publc Assistance Admin"}, {"475", "Chn-Other Operating Revenue"},
    {"593", "Other Operating Transfers Out"},  {"430", "Rents, Concessions & Leases"},
};
constexpr CodeName kSubObjects[] = {
    {"425210", "Court Fines"},
    {"501010", "Perm Salaries-Misc-Regular"},
    {"440155", "Juvenile Probation - Tanf"},
    {"475311", "Hospital-Chgs-Other Genrl Govt"},
    {"591320", "OTO To 5H-General Hosptl Fd"},
    {"460159", "'Parklets' Permit Fee"},
    {"430110", "Rents, Concessions & Leases"},
};
constexpr CodeName kFundTypes[] = {
    {"ENT_FUND", "Enterprise Funds"},
    {"CPTL_PRJ", "Capital Projects Funds"},
    {"SP_REV", "Special Revenue Funds"},
    {"GEN_FUND", "General Fund"},
};
constexpr CodeName kFunds[] = {
    {"ENT_FUND~SFIA_DEBT_SRVC", "SFIA-Debt Service Fund"},
    {"CPTL_PRJ~15760", "CP City Fac Impvt-Unallocated"},
    {"SP_REV~11780", "SR Arts Comm-Art Enrichment"},
    {"CPTL_PRJ~15775", "CPXCF 1500 Mission St. COP/CP"},
    {"GEN_FUND~10000", "GF Annual Account Ctrl"},
};
constexpr CodeName kFundCategories[] = {
    {"0.0", "Unspecified"},
    {"1.0", "Operating"},
    {"2.0", "Capital Projects"},
    {"3.0", "Debt Service"},
};

// A fixed linear congruential generator: the same bytes on every run.
class Random {
 public:
  uint32_t Next() {
    state_ = state_ * 6364136223846793005u + 1442695040888963407u;
    return static_cast<uint32_t>(state_ >> 33);
  }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Next() % N];
  }

 private:
  uint64_t state_ = 20240930;
};

std::string MakeSfCsv(int rows) {
  std::string csv =
      "fiscal_year,revenue_or_spending,related_govt_units,organization_group_code,"
      "organization_group,department_code,department,program_code,program,character_code,"
      "character,object_code,object,sub_object_code,sub_object,fund_type_code,fund_type,"
      "fund_code,fund,fund_category_code,fund_category,amount,data_as_of,data_loaded_at\n";
  Random random;
  auto field = [&](std::string_view value) {
    AppendCsvField(&csv, value);
    csv += ',';
  };
  auto pair = [&](const CodeName& member) {
    field(member.code);
    field(member.name);
  };
  for (int row = 0; row < rows; ++row) {
    field(std::to_string(2000 + random.Next() % 25));
    field(random.Next() % 3 == 0 ? "Revenue" : "Spending");
    field(random.Next() % 4 == 0 ? "Yes" : "No");
    pair(random.Pick(kOrganizationGroups));
    pair(random.Pick(kDepartments));
    pair(random.Pick(kPrograms));
    pair(random.Pick(kCharacters));
    pair(random.Pick(kObjects));
    pair(random.Pick(kSubObjects));
    pair(random.Pick(kFundTypes));
    pair(random.Pick(kFunds));
    pair(random.Pick(kFundCategories));
    const uint32_t cents = random.Next() % 100'000'000;
    std::string amount = random.Next() % 10 == 0 ? "-" : "";
    amount += std::to_string(cents / 100) + "." + std::to_string(100 + cents % 100).substr(1);
    field(amount);
    field("09/30/2024 12:00:00 AM");
    csv += "10/01/2024 06:05:12 AM\n";
  }
  return csv;
}

const std::string& SfCsv() {
  static const std::string csv = MakeSfCsv(kRows);
  return csv;
}

// Every record of the extract through CsvReader; the argument is read_bytes.
void BM_CsvReader(benchmark::State& state) {
  const std::string& csv = SfCsv();
  const CsvOptions options{.read_bytes = static_cast<size_t>(state.range(0))};
  uint64_t records = 0;
  for (auto _ : state) {
    CsvReader reader(MakeViewSource(csv), options);
    CsvRecord record;
    uint64_t fields = 0;
    while (true) {
      Result<bool> more = reader.Next(&record);
      if (!more) {
        state.SkipWithError(more.error().message().c_str());
        return;
      }
      if (!*more) break;
      fields += record.fields.size();
    }
    benchmark::DoNotOptimize(fields);
    records = record.index + 1;
  }
  if (records != kRows + 1) state.SkipWithError("wrong record count");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * csv.size()));
  state.counters["records"] =
      benchmark::Counter(static_cast<double>(records) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CsvReader)->Arg(64 << 10)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

// The same bytes through CsvRecordCounter, fed in the raw zone's 1 MiB chunks.
void BM_CsvRecordCounter(benchmark::State& state) {
  const std::string_view csv = SfCsv();
  const size_t chunk = size_t{1} << 20;
  uint64_t records = 0;
  for (auto _ : state) {
    CsvRecordCounter counter;
    for (size_t offset = 0; offset < csv.size(); offset += chunk) {
      counter.Feed(csv.substr(offset, chunk));
    }
    records = counter.Finish();
    benchmark::DoNotOptimize(records);
  }
  if (records != kRows + 1) state.SkipWithError("wrong record count");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * csv.size()));
}
BENCHMARK(BM_CsvRecordCounter)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace citybooks

BENCHMARK_MAIN();

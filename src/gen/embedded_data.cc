#include "gen/embedded_data.h"

#include <array>
#include <string>

// Defined in embedded_data.S.
#define CB_DECLARE_EMBEDDED(symbol)       \
  extern "C" const char symbol##_begin[]; \
  extern "C" const char symbol##_end[]

CB_DECLARE_EMBEDDED(citybooks_embed_sf_program);
CB_DECLARE_EMBEDDED(citybooks_embed_sf_type);
CB_DECLARE_EMBEDDED(citybooks_embed_sf_fund);
CB_DECLARE_EMBEDDED(citybooks_embed_sf_finance);
CB_DECLARE_EMBEDDED(citybooks_embed_phoenix_sample_rows);
CB_DECLARE_EMBEDDED(citybooks_embed_sample_sf);

namespace citybooks {
namespace {

struct EmbeddedEntry {
  std::string_view name;
  const char* begin;
  const char* end;
};

const std::array<EmbeddedEntry, 6>& Entries() {
  static const std::array<EmbeddedEntry, 6> entries = {{
      {"reference/sf/program.csv", citybooks_embed_sf_program_begin,
       citybooks_embed_sf_program_end},
      {"reference/sf/type.csv", citybooks_embed_sf_type_begin, citybooks_embed_sf_type_end},
      {"reference/sf/fund.csv", citybooks_embed_sf_fund_begin, citybooks_embed_sf_fund_end},
      {"reference/sf/finance.csv", citybooks_embed_sf_finance_begin,
       citybooks_embed_sf_finance_end},
      {"reference/phoenix/sample_rows.csv", citybooks_embed_phoenix_sample_rows_begin,
       citybooks_embed_phoenix_sample_rows_end},
      {"sample/sf-spending-revenue.csv", citybooks_embed_sample_sf_begin,
       citybooks_embed_sample_sf_end},
  }};
  return entries;
}

}  // namespace

Result<std::string_view> EmbeddedFile(std::string_view name) {
  for (const EmbeddedEntry& entry : Entries()) {
    if (entry.name == name) {
      return std::string_view(entry.begin, static_cast<size_t>(entry.end - entry.begin));
    }
  }
  return Fail(ErrorCode::kNotFound, "no embedded reference file named '" + std::string(name) + "'");
}

std::vector<std::string_view> EmbeddedFileNames() {
  std::vector<std::string_view> names;
  for (const EmbeddedEntry& entry : Entries()) names.push_back(entry.name);
  return names;
}

}  // namespace citybooks

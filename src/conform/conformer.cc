#include "conform/conformer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include "common/text.h"

namespace citybooks {

namespace {

constexpr char kKeySeparator = '\x1f';

// The entry with the highest count; ties go to the smaller string so the
// choice never depends on input order.
std::string MostFrequent(const std::map<std::string, int64_t>& counts) {
  const std::pair<const std::string, int64_t>* best = nullptr;
  for (const auto& entry : counts)
    if (best == nullptr || entry.second > best->second) best = &entry;
  return best == nullptr ? std::string() : best->first;
}

// Input text quoted in a message: short, one line, printable.
std::string Shorten(std::string_view text, size_t limit = 60) {
  return SanitizeText(text, limit, true);
}

// Eight bytes at a time: the common all-ASCII row costs little.
bool IsAscii(std::string_view text) {
  const char* p = text.data();
  size_t n = text.size();
  uint64_t any = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    any |= word;
  }
  for (; n > 0; ++p, --n) any |= static_cast<unsigned char>(*p);
  return (any & 0x8080808080808080ull) == 0;
}

}  // namespace

DimensionBuilder::DimensionBuilder(const Mapping& mapping, const DimensionSpec& spec)
    : mapping_(mapping),
      spec_(spec),
      columns_(spec.columns()),
      decided_(spec.levels.size()),
      level_nodes_(spec.levels.size()) {
  int position = 0;
  for (const LevelSpec& level : spec.levels) {
    name_index_.push_back(position++);
    code_index_.push_back(level.code.empty() ? -1 : position++);
  }
}

void DimensionBuilder::SeedExisting(const std::string& member_key, int64_t id,
                                    const std::vector<std::string>& values) {
  existing_[member_key] = id;
  if (values.size() == columns_.size()) {
    size_t end = 0;
    for (size_t level = 0; level < name_index_.size(); ++level) {
      end = member_key.find(kKeySeparator, end);
      if (end == std::string::npos) break;
      ++end;
      decided_[level].try_emplace(
          member_key.substr(0, end), values[name_index_[level]],
          code_index_[level] >= 0 ? values[code_index_[level]] : std::string());
    }
  }
  next_id_ = std::max(next_id_, id + 1);
}

std::string DimensionBuilder::CleanValue(const std::string& column, std::string_view raw) const {
  std::string_view value = mapping_.trim ? Trim(raw) : raw;
  if (auto map = mapping_.value_maps.find(column); map != mapping_.value_maps.end()) {
    if (auto to = map->second.find(std::string(value)); to != map->second.end()) return to->second;
  }
  if (value.empty()) {
    if (auto placeholder = mapping_.null_placeholders.find(column);
        placeholder != mapping_.null_placeholders.end())
      return placeholder->second;
  }
  return std::string(value);
}

namespace {

// A fast non-cryptographic hash of a field (8 bytes at a time).
uint64_t Load64(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

// The last n < 8 bytes of a field as one word, with fixed-size loads only
// (a variable-length memcpy would be a library call per field).
uint64_t Tail(const char* p, size_t n) {
  if (n >= 4) {
    uint32_t low, high;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + n - 4, 4);
    return (uint64_t{high} << 32) | low;
  }
  if (n == 0) return 0;
  return uint64_t{static_cast<unsigned char>(p[0])} |
         uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
         uint64_t{static_cast<unsigned char>(p[n - 1])} << 16;
}

// A fast non-cryptographic hash of a field (8 bytes at a time).
uint64_t HashField(std::string_view text, uint64_t seed) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = seed ^ (text.size() * kMul);
  const char* p = text.data();
  size_t n = text.size();
  for (; n >= 8; p += 8, n -= 8) {
    h = (h ^ Load64(p)) * kMul;
    h ^= h >> 29;
  }
  h = (h ^ Tail(p, n)) * kMul;
  return h ^ (h >> 32);
}

// Byte equality of two short fields without a library call.
bool EqualBytes(const char* a, const char* b, size_t n) {
  for (; n >= 8; a += 8, b += 8, n -= 8)
    if (Load64(a) != Load64(b)) return false;
  return Tail(a, n) == Tail(b, n);
}

}  // namespace

std::string NormalizeVendorName(std::string_view name) {
  std::vector<std::string> words;
  std::string word;
  for (char c : name) {
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 static_cast<unsigned char>(c) >= 0x80;
    if (c == '&') alnum = true;
    if (c == '\'' || c == '.') continue;  // O'BRIEN -> OBRIEN, L.L.C. -> LLC
    if (alnum) {
      word.push_back((c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  static const std::set<std::string> kSuffixes = {
      "LLC", "L",       "INC", "INCORPORATED", "CORP", "CORPORATION", "CO", "COMPANY",
      "LTD", "LIMITED", "LP",  "LLP",          "PLLC", "PC",          "PA", "DBA"};
  // Drop suffixes from the end, but never the whole name ("L L C" -> keep).
  while (words.size() > 1 && kSuffixes.count(words.back())) words.pop_back();
  std::string key;
  for (const std::string& w : words) {
    if (!key.empty()) key.push_back(' ');
    key += w;
  }
  return key;
}

std::optional<int32_t> ParseDate(std::string_view text, DateFormat format) {
  text = Trim(text);
  // Keep only the date of a timestamp ("7/14/2021 12:00:00 AM", "2021-07-14T00:00:00").
  size_t end = text.find_first_of(" T");
  if (end != std::string_view::npos) text = text.substr(0, end);
  std::vector<std::string_view> parts = Split(text, format == DateFormat::kIso ? '-' : '/');
  if (parts.size() != 3) return std::nullopt;
  auto year = ParseInt(format == DateFormat::kIso ? parts[0] : parts[2]);
  auto month = ParseInt(format == DateFormat::kIso ? parts[1] : parts[0]);
  auto day = ParseInt(format == DateFormat::kIso ? parts[2] : parts[1]);
  if (!year || !month || !day || *year < 1000 || *year > 9999) return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year(static_cast<int>(*year)),
                                   std::chrono::month(static_cast<unsigned>(*month)),
                                   std::chrono::day(static_cast<unsigned>(*day))};
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || !date.ok()) return std::nullopt;
  return static_cast<int32_t>(*year * 10000 + *month * 100 + *day);
}

bool DimensionBuilder::SameValues(uint64_t offset,
                                  const std::vector<std::string_view>& raw_values) const {
  const char* p = arena_.data() + offset;
  for (std::string_view value : raw_values) {
    uint32_t size;
    std::memcpy(&size, p, sizeof size);
    p += sizeof size;
    if (size != value.size() || !EqualBytes(p, value.data(), size)) return false;
    p += size;
  }
  return true;
}

std::vector<std::string_view> DimensionBuilder::TupleValues(uint64_t offset) const {
  std::vector<std::string_view> values;
  const char* p = arena_.data() + offset;
  for (size_t i = 0; i < columns_.size(); ++i) {
    uint32_t size;
    std::memcpy(&size, p, sizeof size);
    p += sizeof size;
    values.emplace_back(p, size);
    p += size;
  }
  return values;
}

void DimensionBuilder::InsertSlot(const Slot& slot) {
  if ((tuple_offsets_.size() + 1) * 2 > slots_.size()) {  // keep the load factor under a half
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot());
    for (const Slot& moved : old)
      if (moved.tuple != UINT32_MAX) InsertSlot(moved);
  }
  size_t mask = slots_.size() - 1;
  size_t i = slot.hash & mask;
  while (slots_[i].tuple != UINT32_MAX) i = (i + 1) & mask;
  slots_[i] = slot;
}

std::string DimensionBuilder::MemberKey(const std::vector<std::string>& cleaned,
                                        std::vector<uint32_t>* nodes) {
  std::string key;
  for (size_t level = 0; level < name_index_.size(); ++level) {
    const std::string& name = cleaned[name_index_[level]];
    if (spec_.key_rule == KeyRule::kVendorName) {
      key += NormalizeVendorName(name);
    } else if (mapping_.case_fold) {
      AppendAsciiLower(&key, name);
    } else {
      key += name;
    }
    key.push_back(kKeySeparator);
    if (nodes != nullptr)
      nodes->push_back(
          level_nodes_[level].try_emplace(key, level_nodes_[level].size()).first->second);
  }
  return key;
}

uint64_t DimensionBuilder::Hash(const std::vector<std::string_view>& raw_values) const {
  uint64_t hash = 0;
  for (std::string_view value : raw_values) hash = HashField(value, hash);
  __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
  return hash;
}

int64_t DimensionBuilder::Observe(const std::vector<std::string_view>& raw_values, uint64_t hash,
                                  uint32_t* member_index) {
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask; slots_[i].tuple != UINT32_MAX; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.hash == hash && SameValues(slot.offset, raw_values)) {
      ++slot.rows;
      *member_index = slot.member;
      return member_ids_[slot.member];
    }
  }

  // A combination not seen before: clean it once and find (or make) its member.
  Slot slot;
  slot.hash = hash;
  slot.rows = 1;
  slot.offset = arena_.size();
  slot.tuple = static_cast<uint32_t>(tuple_offsets_.size());
  for (std::string_view value : raw_values) {
    uint32_t size = static_cast<uint32_t>(value.size());
    arena_.append(reinterpret_cast<const char*>(&size), sizeof size);
    arena_.append(value);
  }
  std::vector<std::string> cleaned;
  for (size_t i = 0; i < columns_.size(); ++i)
    cleaned.push_back(CleanValue(columns_[i], raw_values[i]));
  std::vector<uint32_t> nodes;
  std::string key = MemberKey(cleaned, &nodes);
  auto [member, inserted] = member_index_.try_emplace(key, member_ids_.size());
  if (inserted) {
    auto existing = existing_.find(key);
    member_ids_.push_back(existing != existing_.end() ? existing->second : next_id_++);
    member_keys_.push_back(key);
    member_nodes_.insert(member_nodes_.end(), nodes.begin(), nodes.end());
  }
  slot.member = member->second;
  tuple_offsets_.push_back(slot.offset);
  tuple_members_.push_back(slot.member);
  InsertSlot(slot);
  *member_index = member->second;
  return member_ids_[member->second];
}

void DimensionBuilder::Resolve(std::vector<Member>* members, std::vector<Remap>* remaps) const {
  const size_t levels = spec_.levels.size();
  // Per level, per name-path prefix: how often each code and spelling was seen.
  struct Node {
    std::map<std::string, int64_t> codes;
    std::map<std::string, int64_t> spellings;
  };
  std::vector<std::map<std::string, Node>> nodes(levels);
  // Per member: counts of each attribute value.
  size_t attribute_count = spec_.attributes.size();
  std::vector<std::vector<std::map<std::string, int64_t>>> attributes(
      member_ids_.size(), std::vector<std::map<std::string, int64_t>>(attribute_count));
  // Per tuple: rows seen, its cleaned values and its prefix keys.
  const size_t tuple_count = tuple_offsets_.size();
  std::vector<int64_t> tuple_rows(tuple_count, 0);
  for (const Slot& slot : slots_)
    if (slot.tuple != UINT32_MAX) tuple_rows[slot.tuple] = static_cast<int64_t>(slot.rows);
  std::vector<std::vector<std::string>> prefixes(tuple_count);

  for (size_t t = 0; t < tuple_count; ++t) {
    std::vector<std::string_view> raw = TupleValues(tuple_offsets_[t]);
    std::vector<std::string> cleaned;
    for (size_t i = 0; i < columns_.size(); ++i) cleaned.push_back(CleanValue(columns_[i], raw[i]));
    const int64_t rows = tuple_rows[t];
    std::string prefix;
    for (size_t level = 0; level < levels; ++level) {
      const std::string& name = cleaned[name_index_[level]];
      if (spec_.key_rule == KeyRule::kVendorName) {
        prefix += NormalizeVendorName(name);
      } else if (mapping_.case_fold) {
        AppendAsciiLower(&prefix, name);
      } else {
        prefix += name;
      }
      prefix.push_back(kKeySeparator);
      prefixes[t].push_back(prefix);
      Node& node = nodes[level][prefix];
      node.spellings[name] += rows;
      if (code_index_[level] >= 0) node.codes[cleaned[code_index_[level]]] += rows;
    }
    for (size_t a = 0; a < attribute_count; ++a)
      attributes[tuple_members_[t]][a][cleaned[columns_.size() - attribute_count + a]] += rows;
  }

  // Decisions per prefix.
  std::vector<std::map<std::string, std::pair<std::string, std::string>>> chosen(levels);
  for (size_t level = 0; level < levels; ++level)
    for (const auto& [prefix, node] : nodes[level]) {
      auto decided = decided_[level].find(prefix);
      chosen[level][prefix] =
          decided != decided_[level].end()
              ? decided->second
              : std::pair(MostFrequent(node.spellings), MostFrequent(node.codes));
    }

  // One Member per observed member, taking any tuple of it for its prefixes.
  std::vector<int> member_tuple(member_ids_.size(), -1);
  for (size_t t = 0; t < tuple_count; ++t)
    if (member_tuple[tuple_members_[t]] < 0) member_tuple[tuple_members_[t]] = static_cast<int>(t);
  for (size_t m = 0; m < member_ids_.size(); ++m) {
    Member member;
    member.id = member_ids_[m];
    member.key = member_keys_[m];
    const auto& tuple_prefixes = prefixes[member_tuple[m]];
    for (size_t level = 0; level < levels; ++level) {
      const auto& decision = chosen[level].at(tuple_prefixes[level]);
      member.values.push_back(decision.first);
      if (code_index_[level] >= 0) member.values.push_back(decision.second);
    }
    for (size_t a = 0; a < attribute_count; ++a)
      member.values.push_back(MostFrequent(attributes[m][a]));
    members->push_back(std::move(member));
  }

  // Every (name path, code) pair whose code was not the chosen one.
  for (size_t level = 0; level < levels; ++level) {
    if (code_index_[level] < 0) continue;
    for (const auto& [prefix, node] : nodes[level]) {
      const std::string& to = chosen[level][prefix].second;
      // Display path: chosen spellings of each ancestor prefix.
      std::string path;
      size_t start = 0;
      for (size_t depth = 0; depth <= level; ++depth) {
        size_t end = prefix.find(kKeySeparator, start);
        const std::string& spelling = chosen[depth].at(prefix.substr(0, end + 1)).first;
        if (depth) path += " > ";
        path += spelling;
        start = end + 1;
      }
      for (const auto& [code, rows] : node.codes) {
        if (code == to) continue;
        remaps->push_back(Remap{spec_.levels[level].name, path, code, to, rows});
      }
    }
  }
}

RowConformer::RowConformer(const Mapping& mapping, std::vector<DimensionBuilder>* dimensions)
    : mapping_(&mapping), dimensions_(dimensions) {}

Result<RowConformer> RowConformer::Make(const Mapping& mapping,
                                        std::vector<DimensionBuilder>* dimensions,
                                        const std::vector<std::string_view>& header,
                                        const std::string& file_name) {
  RowConformer conformer(mapping, dimensions);
  conformer.field_count_ = header.size();
  std::map<std::string, int> positions;  // exact header name -> index
  std::map<std::string, int> folded;     // lower-cased -> index
  std::set<std::string> repeated;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name(Trim(header[i]));
    conformer.header_.push_back(name);
    if (!positions.emplace(name, static_cast<int>(i)).second) repeated.insert(name);
    folded.emplace(AsciiLower(name), static_cast<int>(i));
  }
  std::vector<std::string> missing;
  std::vector<std::string> doubled;
  auto find = [&](const std::string& column) -> int {
    std::string source = mapping.SourceColumn(column);
    if (repeated.count(source)) doubled.push_back(source);
    if (auto it = positions.find(source); it != positions.end()) return it->second;
    if (auto it = folded.find(AsciiLower(source)); it != folded.end()) return it->second;
    missing.push_back(source);
    return -1;
  };
  conformer.year_index_ =
      find(mapping.has_date() ? mapping.date_column : mapping.fiscal_year_column);
  conformer.amount_index_ = find(mapping.amount_column);
  for (const DimensionSpec& dimension : mapping.dimensions) {
    std::vector<int> indexes;
    for (const std::string& column : dimension.columns()) indexes.push_back(find(column));
    conformer.dimension_indexes_.push_back(std::move(indexes));
  }
  if (!doubled.empty())
    return Fail(ErrorCode::kDataError,
                file_name + ": the header names column '" + doubled.front() +
                    "' more than once, so its values are ambiguous; fix the header and ingest "
                    "the file again");
  if (!missing.empty()) {
    std::string list;
    for (const std::string& column : missing) list += (list.empty() ? "" : ", ") + column;
    std::string found;
    for (size_t i = 0; i < conformer.header_.size() && i < 8; ++i)
      found += (i ? ", " : "") + Shorten(conformer.header_[i], 30);
    if (conformer.header_.size() > 8) found += ", ...";
    return Fail(ErrorCode::kDataError,
                file_name + ": the header lacks column" + (missing.size() > 1 ? "s " : " ") + list +
                    " that mapping " + mapping.name + " needs (the header has: " + found +
                    "); is this the right file for the dataset?");
  }
  conformer.values_.resize(mapping.dimensions.size());
  conformer.hashes_.resize(mapping.dimensions.size());
  return conformer;
}

bool RowConformer::Conform(const CsvRecord& record, ConformedFact* fact, RowProblem* problem) {
  problem->amount_parsed = false;
  switch (record.problem) {
    case CsvProblem::kTooLong:
      problem->reason = "row is longer than the reader's limit and was skipped";
      return false;
    case CsvProblem::kUnterminatedQuote:
      problem->reason = "a quoted field is never closed (it runs to the end of the file)";
      return false;
    case CsvProblem::kNone:
      break;
  }
  const auto& fields = record.fields;
  if (fields.size() != field_count_) {
    if (fields.size() == 1 && Trim(fields[0]).empty()) {
      problem->reason = "blank line";
    } else {
      problem->reason = "expected " + std::to_string(field_count_) + " fields, found " +
                        std::to_string(fields.size());
    }
    return false;
  }
  if (!IsAscii(record.raw) && !IsValidUtf8(record.raw)) {
    problem->reason = "row is not valid UTF-8 text";
    return false;
  }
  std::string_view amount_text = fields[amount_index_];
  auto cents = ParseCents(amount_text, mapping_->amount_format);
  if (cents) {
    problem->amount_parsed = true;
    problem->cents = *cents;
  }
  std::string_view year_text = Trim(fields[year_index_]);
  int64_t fiscal_year = 0;
  bool time_ok = false;
  if (mapping_->has_date()) {
    if (auto date = ParseDate(year_text, mapping_->date_format)) {
      int year = *date / 10000;
      int month = *date / 100 % 100;
      int start = mapping_->fiscal_year_start_month;
      // A fiscal year is named for the year it ends in.
      fiscal_year = start == 1 ? year : (month >= start ? year + 1 : year);
      fact->date = *date;
      fact->fiscal_month = (month - start + 12) % 12 + 1;
      time_ok =
          fiscal_year >= mapping_->min_fiscal_year && fiscal_year <= mapping_->max_fiscal_year;
    }
  } else if (auto year = ParseInt(year_text)) {
    fiscal_year = *year;
    time_ok = *year >= mapping_->min_fiscal_year && *year <= mapping_->max_fiscal_year;
  }
  if (!time_ok) {
    bool is_header = true;
    for (size_t i = 0; i < fields.size() && is_header; ++i)
      is_header = Trim(fields[i]) == header_[i];
    if (is_header) {
      problem->reason = "repeated header row";
    } else if (mapping_->has_date()) {
      problem->reason = mapping_->SourceColumn(mapping_->date_column) + " '" + Shorten(year_text) +
                        "' is not a date (" +
                        (mapping_->date_format == DateFormat::kIso ? "YYYY-MM-DD" : "M/D/YYYY") +
                        ") in fiscal years " + std::to_string(mapping_->min_fiscal_year) + " to " +
                        std::to_string(mapping_->max_fiscal_year);
    } else {
      problem->reason = std::string(mapping_->fiscal_year_column) + " '" + Shorten(year_text) +
                        "' is not a year from " + std::to_string(mapping_->min_fiscal_year) +
                        " to " + std::to_string(mapping_->max_fiscal_year);
    }
    return false;
  }
  if (!cents) {
    problem->reason = mapping_->SourceColumn(mapping_->amount_column) + " '" +
                      Shorten(amount_text) + "' is not an amount";
    return false;
  }
  fact->fiscal_year = static_cast<int32_t>(fiscal_year);
  fact->partition = mapping_->partition == Partition::kFiscalMonth
                        ? fiscal_year * 100 + fact->fiscal_month
                        : fiscal_year;
  fact->cents = *cents;
  const size_t dimensions = dimension_indexes_.size();
  for (size_t d = 0; d < dimensions; ++d) {
    values_[d].clear();
    for (int index : dimension_indexes_[d]) values_[d].push_back(fields[index]);
    hashes_[d] = (*dimensions_)[d].Hash(values_[d]);
  }
  for (size_t d = 0; d < dimensions; ++d)
    fact->member_ids[d] =
        (*dimensions_)[d].Observe(values_[d], hashes_[d], &fact->member_indexes[d]);
  return true;
}

}  // namespace citybooks

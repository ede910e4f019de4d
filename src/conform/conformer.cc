#include "conform/conformer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Sixteen or eight bytes at a time: the common all-ASCII row costs little.
bool IsAscii(std::string_view text) {
  const char* p = text.data();
  size_t n = text.size();
  uint64_t any = 0;
#if defined(__SSE2__)
  __m128i wide = _mm_setzero_si128();
  for (; n >= 16; p += 16, n -= 16)
    wide = _mm_or_si128(wide, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  if (_mm_movemask_epi8(wide) != 0) return false;
#endif
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
      level_nodes_(spec.levels.size()),
      level_count_(spec.levels.size()) {
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

// A 64 x 64 -> 128-bit product folded to 64 bits: one multiply mixes every
// bit of both words into the result.
uint64_t Fold(uint64_t a, uint64_t b) {
  __extension__ using Wide = unsigned __int128;
  const Wide product = static_cast<Wide>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

// A fast non-cryptographic hash of a longer text, 16 bytes per multiply.
uint64_t HashText(std::string_view text, uint64_t seed) {
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                     k2 = 0x8ebc6af09c88c6e3ull;
  const char* p = text.data();
  size_t n = text.size();
  uint64_t h = Fold(seed ^ k0, n ^ k1);
  for (; n > 16; p += 16, n -= 16) h = Fold(Load64(p) ^ k1, Load64(p + 8) ^ h);
  // The last 1 to 16 bytes, as two words that may overlap.
  const uint64_t a = n >= 8 ? Load64(p) : Tail(p, n);
  const uint64_t b = n >= 8 ? Load64(p + n - 8) : 0;
  return Fold(a ^ k2, b ^ h);
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

bool DimensionBuilder::SameValues(uint64_t entry,
                                  const std::vector<std::string_view>& raw_values) const {
  if (entry & 1) return false;
  const char* p = arena_.data() + (entry >> 1);
  for (std::string_view value : raw_values) {
    uint32_t size;
    std::memcpy(&size, p, sizeof size);
    p += sizeof size;
    if (size != value.size() || !EqualBytes(p, value.data(), size)) return false;
    p += size;
  }
  return true;
}

bool DimensionBuilder::SameStretch(uint64_t entry, std::string_view stretch, uint32_t shape) const {
  if (!(entry & 1)) return false;
  const char* p = arena_.data() + (entry >> 1);
  uint32_t size;
  std::memcpy(&size, p, sizeof size);
  if (size != stretch.size() || std::memcmp(p + sizeof size, stretch.data(), size) != 0)
    return false;
  uint32_t stored;
  std::memcpy(&stored, p + sizeof size + size, sizeof stored);
  return stored == shape;
}

std::vector<std::string_view> DimensionBuilder::TupleValues(uint64_t entry) const {
  std::vector<std::string_view> values;
  const char* p = arena_.data() + (entry >> 1);
  uint32_t size;
  if (entry & 1) {  // skip the stretch and its shape
    std::memcpy(&size, p, sizeof size);
    p += sizeof size + size + sizeof(uint32_t);
  }
  for (size_t i = 0; i < columns_.size(); ++i) {
    std::memcpy(&size, p, sizeof size);
    p += sizeof size;
    values.emplace_back(p, size);
    p += size;
  }
  return values;
}

void DimensionBuilder::InsertSlot(const Slot& slot) {
  if ((tuple_entries_.size() + 1) * 2 > slots_.size()) {  // keep the load factor under a half
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
    if (slot.hash == hash && SameValues(slot.entry, raw_values)) {
      ++slot.rows;
      *member_index = slot.member;
      return member_ids_[slot.member];
    }
  }
  Slot slot;
  slot.hash = hash;
  slot.entry = arena_.size() << 1;
  AppendValues(raw_values);
  return AddTuple(slot, raw_values, member_index);
}

void DimensionBuilder::AppendValues(const std::vector<std::string_view>& raw_values) {
  for (std::string_view value : raw_values) {
    uint32_t size = static_cast<uint32_t>(value.size());
    arena_.append(reinterpret_cast<const char*>(&size), sizeof size);
    arena_.append(value);
  }
}

uint32_t DimensionBuilder::Shape(const std::vector<int>& file_order, char delimiter) {
  for (size_t i = 0; i < shapes_.size(); ++i)
    if (shapes_[i].first == file_order && shapes_[i].second == delimiter)
      return static_cast<uint32_t>(i);
  shapes_.emplace_back(file_order, delimiter);
  return static_cast<uint32_t>(shapes_.size() - 1);
}

uint64_t DimensionBuilder::HashStretch(std::string_view stretch, uint32_t shape) const {
  uint64_t hash = HashText(stretch, shape);
  __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
  return hash;
}

std::optional<int64_t> DimensionBuilder::FindStretch(std::string_view stretch, uint32_t shape,
                                                     uint64_t hash, uint32_t* member_index) {
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask; slots_[i].tuple != UINT32_MAX; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.hash == hash && SameStretch(slot.entry, stretch, shape)) {
      ++slot.rows;
      *member_index = slot.member;
      return member_ids_[slot.member];
    }
  }
  return std::nullopt;
}

int64_t DimensionBuilder::AddStretch(std::string_view stretch, uint32_t shape, uint64_t hash,
                                     const std::vector<std::string_view>& raw_values,
                                     uint32_t* member_index) {
  Slot slot;
  slot.hash = hash;
  slot.entry = arena_.size() << 1 | 1;
  uint32_t size = static_cast<uint32_t>(stretch.size());
  arena_.append(reinterpret_cast<const char*>(&size), sizeof size);
  arena_.append(stretch);
  arena_.append(reinterpret_cast<const char*>(&shape), sizeof shape);
  AppendValues(raw_values);
  ++stretch_tuples_;
  return AddTuple(slot, raw_values, member_index);
}

// A combination not seen before: clean it once and find (or make) its member.
int64_t DimensionBuilder::AddTuple(Slot slot, const std::vector<std::string_view>& raw_values,
                                   uint32_t* member_index) {
  slot.rows = 1;
  slot.tuple = static_cast<uint32_t>(tuple_entries_.size());
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
  tuple_entries_.push_back(slot.entry);
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
  const size_t tuple_count = tuple_entries_.size();
  std::vector<int64_t> tuple_rows(tuple_count, 0);
  for (const Slot& slot : slots_)
    if (slot.tuple != UINT32_MAX) tuple_rows[slot.tuple] = static_cast<int64_t>(slot.rows);
  std::vector<std::vector<std::string>> prefixes(tuple_count);

  for (size_t t = 0; t < tuple_count; ++t) {
    std::vector<std::string_view> raw = TupleValues(tuple_entries_[t]);
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
                                        const std::string& file_name, char delimiter) {
  RowConformer conformer(mapping, dimensions);
  conformer.delimiter_ = delimiter;
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
  const size_t dimension_count = mapping.dimensions.size();
  conformer.values_.resize(dimension_count);
  conformer.hashes_.resize(dimension_count);
  conformer.stretches_.resize(dimension_count);
  conformer.has_stretch_.resize(dimension_count);
  conformer.shapes_.assign(dimension_count, -1);
  for (const std::vector<int>& indexes : conformer.dimension_indexes_) {
    std::vector<int> sorted = indexes;
    std::sort(sorted.begin(), sorted.end());
    bool adjacent = !sorted.empty();
    for (size_t i = 1; i < sorted.size() && adjacent; ++i)
      adjacent = sorted[i] == sorted[0] + static_cast<int>(i);
    conformer.stretch_first_.push_back(adjacent ? sorted.front() : -1);
    conformer.stretch_last_.push_back(adjacent ? sorted.back() : -1);
  }
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
  // Every dimension's hash first, so their slots are fetched together.
  const size_t dimensions = dimension_indexes_.size();
  for (size_t d = 0; d < dimensions; ++d) {
    DimensionBuilder& builder = (*dimensions_)[d];
    has_stretch_[d] = StretchOf(record, d, &stretches_[d]);
    if (has_stretch_[d]) {
      hashes_[d] = builder.HashStretch(stretches_[d], static_cast<uint32_t>(shapes_[d]));
      continue;
    }
    values_[d].clear();
    for (int index : dimension_indexes_[d]) values_[d].push_back(fields[index]);
    hashes_[d] = builder.Hash(values_[d]);
  }
  for (size_t d = 0; d < dimensions; ++d) {
    DimensionBuilder& builder = (*dimensions_)[d];
    uint32_t* member_index = &fact->member_indexes[d];
    if (!has_stretch_[d]) {
      fact->member_ids[d] = builder.Observe(values_[d], hashes_[d], member_index);
      continue;
    }
    const uint32_t shape = static_cast<uint32_t>(shapes_[d]);
    if (auto id = builder.FindStretch(stretches_[d], shape, hashes_[d], member_index)) {
      fact->member_ids[d] = *id;
      continue;
    }
    values_[d].clear();
    for (int index : dimension_indexes_[d]) values_[d].push_back(fields[index]);
    fact->member_ids[d] =
        builder.AddStretch(stretches_[d], shape, hashes_[d], values_[d], member_index);
  }
  return true;
}

bool RowConformer::StretchOf(const CsvRecord& record, size_t dimension, std::string_view* stretch) {
  const int first = stretch_first_[dimension];
  const int last = stretch_last_[dimension];
  if (first < 0) return false;
  const auto& fields = record.fields;
  if (first == last) {  // one column: its value is its own stretch
    *stretch = fields[first];
  } else {
    // Offsets into the line, computed on addresses as integers: the first or
    // last value may be a copy (a quoted value with doubled quotes), not a
    // view of the line, and then the row takes the other path.
    const auto address = [](std::string_view text) {
      return reinterpret_cast<uintptr_t>(text.data());
    };
    const uintptr_t raw = address(record.raw);
    size_t begin = address(fields[first]) - raw;  // wraps around when before
    size_t end = address(fields[last]) + fields[last].size() - raw;
    if (begin > record.raw.size() || end > record.raw.size() || end < begin) return false;
    // A quoted first or last value brings its quote into the stretch: a
    // plain value never starts after a quote nor ends before one.
    if (begin > 0 && record.raw[begin - 1] == '"') --begin;
    if (end < record.raw.size() && record.raw[end] == '"') ++end;
    *stretch = record.raw.substr(begin, end - begin);
  }
  if (shapes_[dimension] < 0) {
    std::vector<int> file_order;
    for (int index : dimension_indexes_[dimension]) file_order.push_back(index - first);
    shapes_[dimension] = (*dimensions_)[dimension].Shape(file_order, delimiter_);
  }
  return true;
}

}  // namespace citybooks

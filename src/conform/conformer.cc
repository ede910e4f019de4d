#include "conform/conformer.h"

#include <algorithm>
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

std::string Shorten(std::string_view text, size_t limit = 60) {
  if (text.size() <= limit) return std::string(text);
  return std::string(text.substr(0, limit)) + "...";
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
    : mapping_(mapping), spec_(spec), columns_(spec.columns()), level_nodes_(spec.levels.size()) {
  int position = 0;
  for (const LevelSpec& level : spec.levels) {
    name_index_.push_back(position++);
    code_index_.push_back(level.code.empty() ? -1 : position++);
  }
}

void DimensionBuilder::SeedExisting(const std::string& member_key, int64_t id) {
  existing_[member_key] = id;
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
uint64_t HashField(std::string_view text, uint64_t seed) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = seed ^ (text.size() * kMul);
  const char* p = text.data();
  size_t n = text.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail) * kMul;
  return h ^ (h >> 32);
}

}  // namespace

uint32_t DimensionBuilder::FindTuple(const std::vector<std::string_view>& raw_values,
                                     uint64_t hash) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.tuple == UINT32_MAX) return UINT32_MAX;
    if (slot.hash != hash) continue;
    const std::string& raw = tuples_[slot.tuple].raw;
    size_t at = 0;
    bool equal = true;
    for (std::string_view value : raw_values) {
      if (raw.size() < at + value.size() + 1 || raw.compare(at, value.size(), value) != 0 ||
          raw[at + value.size()] != kKeySeparator) {
        equal = false;
        break;
      }
      at += value.size() + 1;
    }
    if (equal && at == raw.size()) return slot.tuple;
  }
}

void DimensionBuilder::InsertSlot(uint64_t hash, uint32_t tuple) {
  if ((tuples_.size() + 1) * 2 > slots_.size()) {  // keep the load factor under one half
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot());
    for (const Slot& slot : old)
      if (slot.tuple != UINT32_MAX) InsertSlot(slot.hash, slot.tuple);
  }
  size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].tuple != UINT32_MAX) i = (i + 1) & mask;
  slots_[i] = Slot{hash, tuple};
}

int64_t DimensionBuilder::Observe(const std::vector<std::string_view>& raw_values,
                                  uint32_t* member_index) {
  uint64_t hash = 0;
  for (std::string_view value : raw_values) hash = HashField(value, hash);
  uint32_t found = FindTuple(raw_values, hash);
  if (found != UINT32_MAX) {
    Tuple& tuple = tuples_[found];
    ++tuple.rows;
    *member_index = tuple.member;
    return member_ids_[tuple.member];
  }

  Tuple tuple;
  tuple.rows = 1;
  for (std::string_view value : raw_values) {
    tuple.raw.append(value);
    tuple.raw.push_back(kKeySeparator);
  }
  for (size_t i = 0; i < columns_.size(); ++i)
    tuple.cleaned.push_back(CleanValue(columns_[i], raw_values[i]));
  std::string key;
  std::vector<uint32_t> nodes;
  for (size_t level = 0; level < name_index_.size(); ++level) {
    const std::string& name = tuple.cleaned[name_index_[level]];
    if (mapping_.case_fold) {
      AppendAsciiLower(&key, name);
    } else {
      key += name;
    }
    key.push_back(kKeySeparator);
    auto node = level_nodes_[level].try_emplace(key, level_nodes_[level].size()).first;
    nodes.push_back(node->second);
  }
  auto [member, inserted] = member_index_.try_emplace(key, member_ids_.size());
  if (inserted) {
    auto existing = existing_.find(key);
    member_ids_.push_back(existing != existing_.end() ? existing->second : next_id_++);
    member_keys_.push_back(key);
    member_nodes_.insert(member_nodes_.end(), nodes.begin(), nodes.end());
  }
  tuple.member = member->second;
  InsertSlot(hash, static_cast<uint32_t>(tuples_.size()));
  tuples_.push_back(std::move(tuple));
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
  // Per tuple: its prefix keys, computed once.
  std::vector<std::vector<std::string>> prefixes(tuples_.size());

  for (size_t t = 0; t < tuples_.size(); ++t) {
    const Tuple& tuple = tuples_[t];
    std::string prefix;
    for (size_t level = 0; level < levels; ++level) {
      const std::string& name = tuple.cleaned[name_index_[level]];
      if (mapping_.case_fold) {
        AppendAsciiLower(&prefix, name);
      } else {
        prefix += name;
      }
      prefix.push_back(kKeySeparator);
      prefixes[t].push_back(prefix);
      Node& node = nodes[level][prefix];
      node.spellings[name] += tuple.rows;
      if (code_index_[level] >= 0) node.codes[tuple.cleaned[code_index_[level]]] += tuple.rows;
    }
    for (size_t a = 0; a < attribute_count; ++a)
      attributes[tuple.member][a][tuple.cleaned[columns_.size() - attribute_count + a]] +=
          tuple.rows;
  }

  // Decisions per prefix.
  std::vector<std::map<std::string, std::pair<std::string, std::string>>> chosen(levels);
  for (size_t level = 0; level < levels; ++level)
    for (const auto& [prefix, node] : nodes[level])
      chosen[level][prefix] = {MostFrequent(node.spellings), MostFrequent(node.codes)};

  // One Member per observed member, taking any tuple of it for its prefixes.
  std::vector<int> member_tuple(member_ids_.size(), -1);
  for (size_t t = 0; t < tuples_.size(); ++t)
    if (member_tuple[tuples_[t].member] < 0) member_tuple[tuples_[t].member] = static_cast<int>(t);
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
      if (node.codes.size() < 2) continue;
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
  conformer.year_index_ = find(mapping.fiscal_year_column);
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
  conformer.values_.reserve(16);
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
  auto year = ParseInt(year_text);
  if (!year || *year < mapping_->min_fiscal_year || *year > mapping_->max_fiscal_year) {
    bool is_header = true;
    for (size_t i = 0; i < fields.size() && is_header; ++i)
      is_header = Trim(fields[i]) == header_[i];
    if (is_header) {
      problem->reason = "repeated header row";
    } else {
      problem->reason = std::string(mapping_->fiscal_year_column) + " '" + Shorten(year_text) +
                        "' is not a year from " + std::to_string(mapping_->min_fiscal_year) +
                        " to " + std::to_string(mapping_->max_fiscal_year);
    }
    return false;
  }
  if (!cents) {
    problem->reason = mapping_->amount_column + " '" + Shorten(amount_text) + "' is not an amount";
    return false;
  }
  fact->fiscal_year = static_cast<int32_t>(*year);
  fact->cents = *cents;
  for (size_t d = 0; d < dimension_indexes_.size(); ++d) {
    values_.clear();
    for (int index : dimension_indexes_[d]) values_.push_back(fields[index]);
    fact->member_ids[d] = (*dimensions_)[d].Observe(values_, &fact->member_indexes[d]);
  }
  return true;
}

}  // namespace citybooks

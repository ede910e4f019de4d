#include "conform/aggregate_builder.h"

#include <algorithm>

#include "common/text.h"

namespace citybooks {

void AggregateStats::Add(int64_t amount) {
  if (transactions == 0) {
    max_cents = min_cents = amount;
  } else {
    max_cents = std::max(max_cents, amount);
    min_cents = std::min(min_cents, amount);
  }
  ++transactions;
  cents += amount;
}

void AggregateStats::Merge(const AggregateStats& other) {
  if (other.transactions == 0) return;
  if (transactions == 0) {
    *this = other;
    return;
  }
  transactions += other.transactions;
  cents += other.cents;
  max_cents = std::max(max_cents, other.max_cents);
  min_cents = std::min(min_cents, other.min_cents);
}

int AmountBucketOf(int64_t cents) {
  if (cents < 0) return 0;
  int bucket = 1;
  for (int64_t upper = 100'000; bucket < 7 && cents >= upper; upper *= 10) ++bucket;
  return bucket;
}

AggregateBuilder::ColumnSource AggregateBuilder::Locate(const std::string& column) const {
  ColumnSource source;
  if (column == mapping_.fiscal_year_column) {
    source.year = true;
    return source;
  }
  if (mapping_.has_date() && column == "fiscal_month") {
    source.month = true;
    return source;
  }
  for (size_t d = 0; d < mapping_.dimensions.size(); ++d) {
    const DimensionSpec& dimension = mapping_.dimensions[d];
    size_t position = 0;
    for (size_t level = 0; level < dimension.levels.size(); ++level) {
      for (const std::string* owned :
           {&dimension.levels[level].name, &dimension.levels[level].code}) {
        if (owned->empty()) continue;
        if (*owned == column)
          return ColumnSource{false, false, d, position, static_cast<int>(level)};
        ++position;
      }
    }
    for (const std::string& attribute : dimension.attributes) {
      if (attribute == column) return ColumnSource{false, false, d, position, -1};
      ++position;
    }
  }
  return source;  // ParseMapping guarantees every column exists
}

bool AggregateBuilder::covers_partition() const {
  return by_year_ && (mapping_.partition == Partition::kFiscalYear || by_month_);
}

void AggregateBuilder::UseClass(const ColumnSource& source) {
  if (source.year || source.month) return;
  ClassSource wanted{source.dimension, source.level};
  for (const ClassSource& existing : classes_)
    if (existing == wanted) return;
  classes_.push_back(wanted);
}

AggregateBuilder::AggregateBuilder(const Mapping& mapping, const AggregateSpec& spec,
                                   const std::vector<DimensionBuilder>* dimensions)
    : mapping_(mapping), spec_(spec), dimensions_(dimensions) {
  for (const std::string& column : spec.group_by) {
    ColumnSource source = Locate(column);
    if (source.year) by_year_ = true;
    if (source.month) by_month_ = true;
    UseClass(source);
    group_sources_.push_back(source);
  }
  if (!spec.filter_column.empty() && !spec.filter_equals.empty()) {
    has_equals_filter_ = true;
    equals_source_ = Locate(spec.filter_column);
    UseClass(equals_source_);
  }
  if (!spec.contains_column.empty() && !spec.filter_contains.empty()) {
    has_contains_filter_ = true;
    contains_source_ = Locate(spec.contains_column);
    contains_lower_ = AsciiLower(spec.filter_contains);
    UseClass(contains_source_);
  }
  // ParseMapping allows at most kMaxAggregateColumns dimension columns, and
  // each gives at most one class.
}

bool AggregateBuilder::DeriveFrom(AggregateBuilder& source) {
  if (&source == this || source.derived() || is_source_ || derived()) return false;
  if (spec_.histogram || has_equals_filter_ || has_contains_filter_) return false;
  if (source.has_equals_filter_ || source.has_contains_filter_) return false;
  if ((by_year_ && !source.by_year_) || (by_month_ && !source.by_month_)) return false;
  for (const ClassSource& wanted : classes_) {
    bool decided = false;
    for (const ClassSource& counted : source.classes_)
      decided =
          decided || (counted.dimension == wanted.dimension &&
                      (counted.level < 0 || (wanted.level >= 0 && counted.level >= wanted.level)));
    if (!decided) return false;
  }
  source_ = &source;
  source.is_source_ = true;
  return true;
}

AggregateBuilder::Prepared AggregateBuilder::Prepare(const ConformedFact& fact) const {
  Prepared prepared{};
  prepared.year = by_year_ ? fact.fiscal_year : 0;
  prepared.month = by_month_ ? fact.fiscal_month : 0;
  prepared.bucket = spec_.histogram ? AmountBucketOf(fact.cents) : 0;
  uint64_t h = static_cast<uint64_t>(static_cast<uint32_t>(prepared.year)) << 32 |
               static_cast<uint32_t>(prepared.bucket * 16 + prepared.month);
  h *= 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < classes_.size(); ++i) {
    const ClassSource& source = classes_[i];
    uint32_t member = fact.member_indexes[source.dimension];
    prepared.classes[i] = source.level < 0 ? member
                                           : (*dimensions_)[source.dimension].LevelNode(
                                                 member, static_cast<size_t>(source.level));
    h = (h ^ prepared.classes[i]) * 0xff51afd7ed558ccdull;
  }
  prepared.hash = h ^ (h >> 31);
  __builtin_prefetch(&slots_[prepared.hash & (slots_.size() - 1)]);
  return prepared;
}

// Only the classes in use: std::array's == would compare all of them through
// a library memcmp, once per aggregate per fact.
bool AggregateBuilder::SameClasses(const std::array<uint32_t, kMaxClasses>& a,
                                   const std::array<uint32_t, kMaxClasses>& b) const {
  for (size_t i = 0; i < classes_.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

void AggregateBuilder::Commit(const ConformedFact& fact, const Prepared& prepared) {
  size_t mask = slots_.size() - 1;
  for (size_t i = prepared.hash & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (!slot.used) {
      slot.used = true;
      slot.year = prepared.year;
      slot.month = static_cast<uint8_t>(prepared.month);
      slot.bucket = static_cast<uint8_t>(prepared.bucket);
      slot.classes = prepared.classes;
      members_[i] = fact.member_indexes;
      slot.stats.Add(fact.cents);
      if (++used_ * 2 > slots_.size()) Grow();
      return;
    }
    if (slot.year == prepared.year && slot.month == prepared.month &&
        slot.bucket == prepared.bucket && SameClasses(slot.classes, prepared.classes)) {
      slot.stats.Add(fact.cents);
      return;
    }
  }
}

void AggregateBuilder::Grow() {
  std::vector<Slot> old = std::move(slots_);
  std::vector<Members> old_members = std::move(members_);
  slots_.assign(old.size() * 2, Slot());
  members_.assign(old.size() * 2, Members{});
  size_t mask = slots_.size() - 1;
  for (size_t o = 0; o < old.size(); ++o) {
    const Slot& slot = old[o];
    if (!slot.used) continue;
    uint64_t h = static_cast<uint64_t>(static_cast<uint32_t>(slot.year)) << 32 |
                 static_cast<uint32_t>(slot.bucket * 16 + slot.month);
    h *= 0x9E3779B97F4A7C15ull;
    for (size_t c = 0; c < classes_.size(); ++c) h = (h ^ slot.classes[c]) * 0xff51afd7ed558ccdull;
    h ^= h >> 31;
    size_t i = h & mask;
    while (slots_[i].used) i = (i + 1) & mask;
    slots_[i] = slot;
    members_[i] = old_members[o];
  }
}

std::vector<AggregateRow> AggregateBuilder::Finish(
    const std::function<const std::vector<std::string>&(size_t, uint32_t)>& member_values) const {
  std::map<std::pair<std::vector<std::string>, int>, AggregateStats> coarse;
  // A derived aggregate reads the keys counted by its source: each of them
  // decides this aggregate's groups through its representative members.
  const AggregateBuilder& counted = source_ != nullptr ? *source_ : *this;
  for (size_t i = 0; i < counted.slots_.size(); ++i) {
    const Slot& slot = counted.slots_[i];
    if (!slot.used) continue;
    const AggregateStats& stats = slot.stats;
    auto value_of = [&](const ColumnSource& source) -> std::string {
      if (source.year) return std::to_string(slot.year);
      if (source.month) return std::to_string(slot.month);
      return member_values(source.dimension,
                           counted.members_[i][source.dimension])[source.position];
    };
    if (has_equals_filter_) {
      std::string value = value_of(equals_source_);
      if (std::find(spec_.filter_equals.begin(), spec_.filter_equals.end(), value) ==
          spec_.filter_equals.end())
        continue;
    }
    if (has_contains_filter_ &&
        AsciiLower(value_of(contains_source_)).find(contains_lower_) == std::string::npos)
      continue;
    std::vector<std::string> groups;
    for (const ColumnSource& source : group_sources_) groups.push_back(value_of(source));
    coarse[{std::move(groups), spec_.histogram ? slot.bucket : -1}].Merge(stats);
  }
  std::vector<AggregateRow> rows;
  rows.reserve(coarse.size());
  for (auto& [key, stats] : coarse) rows.push_back(AggregateRow{key.first, key.second, stats});
  return rows;
}

}  // namespace citybooks

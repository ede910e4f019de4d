// Aggregate tables computed while facts stream by: each fact is counted into
// a fine key (fiscal year, amount bucket, and the member ids of the
// dimensions the aggregate reads), so memory depends on dimension sizes, not
// on rows. Once dimension members are resolved, fine keys roll up to the
// aggregate's group_by values. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "conform/conformer.h"
#include "conform/mapping.h"

namespace citybooks {

struct AggregateStats {
  int64_t transactions = 0;
  int64_t cents = 0;
  int64_t max_cents = 0;
  int64_t min_cents = 0;
  void Add(int64_t amount);
  void Merge(const AggregateStats& other);
};

// One row of an aggregate table, in the table's column order: the group_by
// values (the fiscal year as its decimal text), then the histogram bucket
// when the aggregate has one, then the stats.
struct AggregateRow {
  std::vector<std::string> groups;
  int bucket = -1;
  AggregateStats stats;
};

class AggregateBuilder {
 public:
  // `dimensions` are the builders the facts come from; they must outlive this.
  AggregateBuilder(const Mapping& mapping, const AggregateSpec& spec,
                   const std::vector<DimensionBuilder>* dimensions);

  // Counts `fact`. Add() is Prepare() then Commit(); a caller adding one fact
  // to several aggregates prepares all of them first, so their table lookups
  // are in flight together instead of one cache miss after another.
  void Add(const ConformedFact& fact) { Commit(fact, Prepare(fact)); }

  // Facts are counted per fine key: year, bucket and, for every column the
  // aggregate reads, the class that decides its value (the member's name-path
  // node for a level's name or code, the member itself for an attribute).
  static constexpr size_t kMaxClasses = kMaxAggregateColumns;
  struct Prepared {
    uint64_t hash;
    int32_t year;
    int32_t month;
    int32_t bucket;
    std::array<uint32_t, kMaxClasses> classes;
  };
  Prepared Prepare(const ConformedFact& fact) const;
  void Commit(const ConformedFact& fact, const Prepared& prepared);

  // `member_values(d, index)` returns the resolved values
  // (DimensionSpec::columns() order) of member index `index` of dimension `d`.
  // Rows come out sorted by groups.
  std::vector<AggregateRow> Finish(
      const std::function<const std::vector<std::string>&(size_t, uint32_t)>& member_values) const;

  // When every column this aggregate groups by is decided by the fine key of
  // `source` (a level's node decides the levels above it; a member decides
  // everything of its dimension), and neither filters nor buckets its rows,
  // this aggregate is not counted at all: Finish() rolls `source`'s keys up
  // instead, and the caller adds facts to `source` only. Returns whether it
  // did so. Call before the first Add; `source` must outlive this, and an
  // aggregate others derive from is never derived itself.
  bool DeriveFrom(AggregateBuilder& source);
  bool derived() const { return source_ != nullptr; }

  const AggregateSpec& spec() const { return spec_; }
  // True when the aggregate is grouped by every column of the mapping's
  // partition (fiscal year, and fiscal month for monthly partitions), so its
  // rows can be replaced one partition at a time.
  bool covers_partition() const;

 private:
  // Open addressing with the key and its running stats inline in one cache
  // line: a lookup touches that line only, and no allocation is made per key.
  struct alignas(64) Slot {
    bool used = false;
    uint8_t month = 0;   // 0..13
    uint8_t bucket = 0;  // 0..7
    int32_t year = 0;
    std::array<uint32_t, kMaxClasses> classes{};
    AggregateStats stats;
  };
  static_assert(sizeof(Slot) == 64);
  // A representative member per dimension of the key in slots_[i], read by
  // Finish() only, so kept out of the slots' cache lines.
  using Members = std::array<uint32_t, kMaxDimensions>;
  void Grow();
  // Where a column's value comes from: the year, or (dimension, position).
  struct ColumnSource {
    bool year = false;
    bool month = false;
    size_t dimension = 0;
    size_t position = 0;  // in DimensionSpec::columns()
    int level = -1;       // the level owning the column; -1 for an attribute
  };
  struct ClassSource {
    size_t dimension = 0;
    int level = -1;
    bool operator==(const ClassSource&) const = default;
  };
  void UseClass(const ColumnSource& source);
  bool SameClasses(const std::array<uint32_t, kMaxClasses>& a,
                   const std::array<uint32_t, kMaxClasses>& b) const;
  ColumnSource Locate(const std::string& column) const;

  const Mapping& mapping_;
  const AggregateSpec& spec_;
  const std::vector<DimensionBuilder>* dimensions_;
  bool by_year_ = false;
  bool by_month_ = false;
  std::vector<ClassSource> classes_;
  std::vector<ColumnSource> group_sources_;
  bool has_equals_filter_ = false;
  ColumnSource equals_source_;
  bool has_contains_filter_ = false;
  ColumnSource contains_source_;
  std::string contains_lower_;
  std::vector<Slot> slots_ = std::vector<Slot>(1024);
  std::vector<Members> members_ = std::vector<Members>(1024);
  const AggregateBuilder* source_ = nullptr;  // counted instead of this one
  bool is_source_ = false;                    // another aggregate rolls this one up
  size_t used_ = 0;
};

// The histogram bucket of an amount (see AmountBuckets in pipeline).
int AmountBucketOf(int64_t cents);

}  // namespace citybooks

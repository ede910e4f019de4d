// Conforming raw rows into star-schema facts and dimension members: pure
// functions and value types, no I/O. A load feeds every record of a snapshot
// through a RowConformer; the DimensionBuilders it shares collect members and
// code statistics, and Resolve() enforces many-to-one codes at the end.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/csv_reader.h"
#include "common/error.h"
#include "conform/mapping.h"

namespace citybooks {

struct ConformedFact {
  int32_t fiscal_year = 0;
  int32_t fiscal_month = 0;  // 1 = the fiscal year's first month; 0 without a date
  int32_t date = 0;          // YYYYMMDD; 0 without a date
  int64_t partition = 0;     // fiscal year, or fiscal_year * 100 + fiscal_month
  std::array<int64_t, kMaxDimensions> member_ids{};  // surrogate keys, in mapping order
  // Dense index of each member within its DimensionBuilder (0, 1, 2, ...).
  std::array<uint32_t, kMaxDimensions> member_indexes{};
  int64_t cents = 0;
};

// Collects the members of one dimension. Members are identified by their name
// path (each level's cleaned name, case-folded when the mapping says so);
// codes, display spellings and attributes are decided in Resolve() from how
// often each was seen.
class DimensionBuilder {
 public:
  DimensionBuilder(const Mapping& mapping, const DimensionSpec& spec);

  // Declares a member already in the warehouse: `member_key` keeps its
  // surrogate `id`, and the spelling and code its levels have (`values`, in
  // DimensionSpec::columns() order) stay decided. A name path decided by an
  // earlier load keeps its code, so loading some fiscal years again never
  // gives a name a second code; codes seen now are recorded as remaps to it.
  void SeedExisting(const std::string& member_key, int64_t id,
                    const std::vector<std::string>& values);

  // Records one row's raw values (in DimensionSpec::columns() order) and
  // returns the member's surrogate id. The hot path: one hash lookup for a
  // combination seen before.
  int64_t Observe(const std::vector<std::string_view>& raw_values, uint32_t* member_index) {
    return Observe(raw_values, Hash(raw_values), member_index);
  }
  // The same with the values' hash computed earlier by Hash(), which also
  // starts fetching the slot it lands on: hashing every dimension of a row
  // before observing any keeps their cache misses in flight together.
  uint64_t Hash(const std::vector<std::string_view>& raw_values) const;
  int64_t Observe(const std::vector<std::string_view>& raw_values, uint64_t hash,
                  uint32_t* member_index);

  // The hot path when the dimension's columns sit side by side in a file: the
  // row's values as one "stretch" of its line, from the first value's field
  // to the last one's, quotes and delimiters included. A line's fields are
  // read left to right, each from its first byte, so equal stretches of the
  // same shape (the order of the columns in the file and the delimiter, from
  // Shape()) hold equal values: a row costs one hash and one comparison over
  // its stretch instead of one per value. A combination may be stored both as
  // a stretch and as values; both find the same member.
  uint32_t Shape(const std::vector<int>& file_order, char delimiter);
  uint64_t HashStretch(std::string_view stretch, uint32_t shape) const;
  // The member of a stretch seen before (counting the row), or nullopt.
  std::optional<int64_t> FindStretch(std::string_view stretch, uint32_t shape, uint64_t hash,
                                     uint32_t* member_index);
  // Stores a stretch not seen before, with its values in columns() order.
  int64_t AddStretch(std::string_view stretch, uint32_t shape, uint64_t hash,
                     const std::vector<std::string_view>& raw_values, uint32_t* member_index);

  // The name-path node of member `member_index` at `level`: members sharing
  // a node share that level's name, code and spelling after Resolve().
  uint32_t LevelNode(uint32_t member_index, size_t level) const {
    return member_nodes_[member_index * level_count_ + level];
  }

  struct Member {
    int64_t id = 0;
    std::string key;                  // name path used for matching
    std::vector<std::string> values;  // resolved, in DimensionSpec::columns() order
  };
  // One (name path, code) pair that was remapped to the path's chosen code.
  struct Remap {
    std::string level;      // the level's name column, e.g. "department"
    std::string name_path;  // display names joined by " > "
    std::string from_code;
    std::string to_code;
    int64_t rows = 0;
  };
  // Decides each level's code (most frequent; ties go to the smaller code) and
  // spelling (most frequent), and returns every member observed since
  // construction (members[i] is member index i) plus every remapped pair.
  // Call once, after the last Observe.
  void Resolve(std::vector<Member>* members, std::vector<Remap>* remaps) const;

  const DimensionSpec& spec() const { return spec_; }
  size_t observed_members() const { return member_ids_.size(); }
  // Distinct combinations stored as stretches of a line (by AddStretch).
  size_t stretch_tuples() const { return stretch_tuples_; }

 private:
  // Each distinct combination of raw values (a "tuple") is stored once in
  // `arena_` as length-prefixed values, preceded for a stretch by the
  // length-prefixed stretch and its shape. An open-addressing table finds it by hash;
  // the slot carries the member and the row count, so a row seen before
  // touches one slot and the arena bytes it compares, nothing else.
  struct Slot {
    uint64_t hash = 0;
    uint64_t rows = 0;
    uint64_t entry = 0;  // offset into arena_ << 1, | 1 for a stretch
    uint32_t tuple = UINT32_MAX;
    uint32_t member = 0;
  };
  bool SameValues(uint64_t entry, const std::vector<std::string_view>& raw_values) const;
  bool SameStretch(uint64_t entry, std::string_view stretch, uint32_t shape) const;
  void AppendValues(const std::vector<std::string_view>& raw_values);
  void InsertSlot(const Slot& slot);
  // Stores a combination not seen before (its bytes already appended to
  // arena_ at slot.entry) and finds or makes its member.
  int64_t AddTuple(Slot slot, const std::vector<std::string_view>& raw_values,
                   uint32_t* member_index);
  // The raw values of the tuple stored at `entry`.
  std::vector<std::string_view> TupleValues(uint64_t entry) const;
  std::vector<Slot> slots_ = std::vector<Slot>(1024);
  std::string arena_;
  std::vector<uint64_t> tuple_entries_;
  std::vector<uint32_t> tuple_members_;
  size_t stretch_tuples_ = 0;
  std::vector<std::pair<std::vector<int>, char>> shapes_;
  std::string CleanValue(const std::string& column, std::string_view raw) const;
  // Cleans and case-folds `cleaned` into the member key, recording the
  // name-path node of each level in *nodes.
  std::string MemberKey(const std::vector<std::string>& cleaned, std::vector<uint32_t>* nodes);

  const Mapping& mapping_;
  const DimensionSpec& spec_;
  std::vector<std::string> columns_;
  std::vector<int> name_index_;  // per level: position of its name in columns()
  std::vector<int> code_index_;  // per level: position of its code, or -1
  std::unordered_map<std::string, int64_t> existing_;
  // Per level: name-path prefix -> (spelling, code) decided by earlier loads.
  std::vector<std::unordered_map<std::string, std::pair<std::string, std::string>>> decided_;
  int64_t next_id_ = 1;
  std::unordered_map<std::string, uint32_t> member_index_;  // key -> index
  std::vector<int64_t> member_ids_;
  std::vector<std::string> member_keys_;
  std::vector<std::unordered_map<std::string, uint32_t>> level_nodes_;  // per level: prefix -> node
  std::vector<uint32_t> member_nodes_;  // member index * levels + level -> node
  size_t level_count_ = 0;              // spec_.levels.size()
};

// The vendor key of a published vendor name: upper case, punctuation folded
// to spaces (apostrophes and dots dropped, so L.L.C. is LLC), runs of spaces
// collapsed, and trailing legal suffixes (LLC, INC,
// CORP, CO, LTD, LP, ...) dropped: "Acme Supply, Inc." -> "ACME SUPPLY".
std::string NormalizeVendorName(std::string_view name);

// Parses a date of `format` into YYYYMMDD; nullopt if it is not a real date.
std::optional<int32_t> ParseDate(std::string_view text, DateFormat format);

// Why a row was quarantined, with the amount when it parsed (for the
// reconcile accounting).
struct RowProblem {
  std::string reason;
  bool amount_parsed = false;
  int64_t cents = 0;
};

// Binds one file's header to a mapping and conforms its records.
class RowConformer {
 public:
  // Fails with kDataError when the header lacks a column the mapping needs or
  // names one twice; the message names the file and the columns. `delimiter`
  // is the one the file's records were read with.
  static Result<RowConformer> Make(const Mapping& mapping,
                                   std::vector<DimensionBuilder>* dimensions,
                                   const std::vector<std::string_view>& header,
                                   const std::string& file_name, char delimiter = ',');

  // Conforms `record`. Returns true and fills *fact, or returns false and
  // fills *problem (the row must be quarantined).
  bool Conform(const CsvRecord& record, ConformedFact* fact, RowProblem* problem);

 private:
  RowConformer(const Mapping& mapping, std::vector<DimensionBuilder>* dimensions);

  const Mapping* mapping_;
  std::vector<DimensionBuilder>* dimensions_;
  std::vector<std::string> header_;
  size_t field_count_ = 0;
  char delimiter_ = ',';
  int year_index_ = -1;  // the fiscal year column, or the date column
  int amount_index_ = -1;
  // Per dimension: the stretch of the record holding its values (see
  // DimensionBuilder::Shape), when they sit side by side in the file and the
  // first and last are views of the line; false otherwise.
  bool StretchOf(const CsvRecord& record, size_t dimension, std::string_view* stretch);

  std::vector<std::vector<int>> dimension_indexes_;    // per dimension, columns() order
  std::vector<std::vector<std::string_view>> values_;  // per dimension
  std::vector<uint64_t> hashes_;                       // per dimension
  // Per dimension: first and last field of its columns when they are
  // adjacent in the file (-1 when not), its shape once known (-1 before the
  // first stretch), and the current row's stretch when it has one.
  std::vector<int> stretch_first_;
  std::vector<int> stretch_last_;
  std::vector<int64_t> shapes_;
  std::vector<std::string_view> stretches_;
  std::vector<uint8_t> has_stretch_;
};

}  // namespace citybooks

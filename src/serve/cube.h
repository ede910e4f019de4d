// The cube model of one dataset, derived from its Mapping: the attributes the
// API knows (refs "dimension.attribute", or the column name for a time
// column), the measure and aggregates, which warehouse column each ref reads,
// and the model JSON of /api/cubes/{dataset}/model. Every identifier that
// reaches SQL comes from here, never from a request.
//
//   CB_ASSIGN_OR_RETURN(Cube cube, Cube::Make("sf-spending-revenue", mapping));
//   const CubeAttribute* department = cube.FindAttribute("program.department");
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "conform/mapping.h"

namespace citybooks {

struct CubeAttribute {
  std::string ref;        // "program.department"; "fiscal_year" for a time column
  std::string dimension;  // "program"; "fiscal_year" for a time column
  std::string name;       // "department"
  std::string column;     // the warehouse column it reads, e.g. "department"
  std::string label;      // "Department"
  // Index of the dimension in Mapping::dimensions (its table dim_<name>);
  // -1 for a time column, which lives in the fact table.
  int dimension_index = -1;
  bool integer = false;  // an integer time column (fiscal_year, fiscal_month)
  bool level = false;    // the name column of a hierarchy level
  // For a level: its code column and, under a vendor-name key rule, its key
  // column ("vendor_key"); empty when it has none.
  std::string code_column;
  std::string key_column;

  bool is_time() const { return dimension_index < 0; }
};

struct CubeDimension {
  std::string name;
  std::string label;
  std::vector<std::string> hierarchy;  // level names from the top down
  std::vector<size_t> attributes;      // indexes into Cube::attributes()
  int dimension_index = -1;            // as in CubeAttribute
};

enum class AggregateFunction { kSum, kCount, kMax, kMin };

struct CubeAggregate {
  std::string ref;      // "amount.sum", "_count"
  std::string measure;  // "amount"; empty for _count
  AggregateFunction function = AggregateFunction::kSum;
  std::string label;
};

class Cube {
 public:
  // Builds the model of `dataset` from its mapping. Fails (kInvalidArgument)
  // only when the mapping declares something the API cannot name.
  static Result<Cube> Make(const std::string& dataset, Mapping mapping);

  const std::string& dataset() const { return dataset_; }
  const std::string& schema() const { return schema_; }
  const Mapping& mapping() const { return mapping_; }
  const std::vector<CubeAttribute>& attributes() const { return attributes_; }
  const std::vector<CubeDimension>& dimensions() const { return dimensions_; }
  const std::vector<CubeAggregate>& aggregates() const { return aggregates_; }

  // The attribute named by `ref` ("program.department"; a time column by
  // its name or "fiscal_year.fiscal_year"), or nullptr.
  const CubeAttribute* FindAttribute(std::string_view ref) const;
  // The attribute reading `column`, or nullptr.
  const CubeAttribute* AttributeOfColumn(std::string_view column) const;
  const CubeDimension* FindDimension(std::string_view name) const;
  const CubeAggregate* FindAggregate(std::string_view ref) const;
  // True for "amount" and the aggregate refs: names a cut may not use.
  bool IsMeasure(std::string_view ref) const;

  // Refs a user may use, comma-separated, for error messages.
  std::string AttributeRefList() const;
  std::string AggregateRefList() const;

  // {"dimensions": {...}, "measures": {...}, "aggregates": {...}} in the
  // OpenSpending babbage shape.
  nlohmann::ordered_json ModelJson() const;

 private:
  std::string dataset_;
  std::string schema_;
  Mapping mapping_;
  std::vector<CubeAttribute> attributes_;
  std::vector<CubeDimension> dimensions_;
  std::vector<CubeAggregate> aggregates_;
};

// "organization_group" -> "Organization Group".
std::string LabelOf(std::string_view column);

}  // namespace citybooks

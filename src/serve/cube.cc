#include "serve/cube.h"

#include "common/text.h"
#include "config/config.h"

namespace citybooks {

std::string LabelOf(std::string_view column) {
  std::string words(column);
  for (char& c : words)
    if (c == '_') c = ' ';
  return AsciiTitle(words);
}

Result<Cube> Cube::Make(const std::string& dataset, Mapping mapping) {
  Cube cube;
  cube.dataset_ = dataset;
  cube.schema_ = SchemaName(dataset);
  cube.mapping_ = std::move(mapping);
  const Mapping& m = cube.mapping_;

  auto add = [&cube](CubeDimension& dimension, CubeAttribute attribute) {
    dimension.attributes.push_back(cube.attributes_.size());
    cube.attributes_.push_back(std::move(attribute));
  };
  for (size_t d = 0; d < m.dimensions.size(); ++d) {
    const DimensionSpec& spec = m.dimensions[d];
    CubeDimension dimension;
    dimension.name = spec.name;
    dimension.label = LabelOf(spec.name);
    dimension.dimension_index = static_cast<int>(d);
    for (size_t l = 0; l < spec.levels.size(); ++l) {
      const LevelSpec& level = spec.levels[l];
      dimension.hierarchy.push_back(level.name);
      CubeAttribute name;
      name.dimension = spec.name;
      name.name = level.name;
      name.column = level.name;
      name.dimension_index = static_cast<int>(d);
      name.level = true;
      name.code_column = level.code;
      bool keyed = spec.key_rule == KeyRule::kVendorName && l + 1 == spec.levels.size();
      if (keyed) name.key_column = level.name + "_key";
      add(dimension, name);
      for (const std::string& extra : {level.code, name.key_column}) {
        if (extra.empty()) continue;
        CubeAttribute attribute;
        attribute.dimension = spec.name;
        attribute.name = extra;
        attribute.column = extra;
        attribute.dimension_index = static_cast<int>(d);
        add(dimension, attribute);
      }
    }
    for (const std::string& extra : spec.attributes) {
      CubeAttribute attribute;
      attribute.dimension = spec.name;
      attribute.name = extra;
      attribute.column = extra;
      attribute.dimension_index = static_cast<int>(d);
      add(dimension, attribute);
    }
    cube.dimensions_.push_back(std::move(dimension));
  }
  for (const std::string& column : m.TimeColumns()) {
    CubeDimension dimension;
    dimension.name = column;
    dimension.label = LabelOf(column);
    dimension.hierarchy = {column};
    CubeAttribute attribute;
    attribute.dimension = column;
    attribute.name = column;
    attribute.column = column;
    attribute.integer = column == m.fiscal_year_column ||
                        (m.has_date() && (column == "fiscal_year" || column == "fiscal_month"));
    attribute.level = true;
    add(dimension, attribute);
    cube.dimensions_.push_back(std::move(dimension));
  }
  for (CubeAttribute& attribute : cube.attributes_) {
    attribute.ref =
        attribute.is_time() ? attribute.column : attribute.dimension + "." + attribute.name;
    attribute.label = LabelOf(attribute.name);
  }
  for (size_t i = 0; i < cube.attributes_.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (cube.attributes_[i].ref == cube.attributes_[j].ref ||
          cube.attributes_[i].column == cube.attributes_[j].column)
        return Fail(ErrorCode::kInvalidArgument,
                    "mapping " + m.name + " names '" + cube.attributes_[i].ref +
                        "' twice; every column may belong to one dimension only");

  cube.aggregates_ = {
      {"amount.sum", "amount", AggregateFunction::kSum, "Amount (sum)"},
      {"amount.max", "amount", AggregateFunction::kMax, "Amount (largest)"},
      {"amount.min", "amount", AggregateFunction::kMin, "Amount (smallest)"},
      {"_count", "", AggregateFunction::kCount, "Count"},
  };
  return cube;
}

const CubeAttribute* Cube::FindAttribute(std::string_view ref) const {
  for (const CubeAttribute& attribute : attributes_) {
    if (attribute.ref == ref) return &attribute;
    // A time column is a dimension of one attribute: "fiscal_year.fiscal_year" too.
    if (attribute.is_time() && ref.size() == 2 * attribute.column.size() + 1 &&
        ref.substr(0, attribute.column.size()) == attribute.column &&
        ref[attribute.column.size()] == '.' &&
        ref.substr(attribute.column.size() + 1) == attribute.column)
      return &attribute;
  }
  return nullptr;
}

const CubeAttribute* Cube::AttributeOfColumn(std::string_view column) const {
  for (const CubeAttribute& attribute : attributes_)
    if (attribute.column == column) return &attribute;
  return nullptr;
}

const CubeDimension* Cube::FindDimension(std::string_view name) const {
  for (const CubeDimension& dimension : dimensions_)
    if (dimension.name == name) return &dimension;
  return nullptr;
}

const CubeAggregate* Cube::FindAggregate(std::string_view ref) const {
  for (const CubeAggregate& aggregate : aggregates_)
    if (aggregate.ref == ref) return &aggregate;
  return nullptr;
}

bool Cube::IsMeasure(std::string_view ref) const {
  if (ref == "amount" || ref == "amount_cents" || FindAggregate(ref) != nullptr) return true;
  return ref.rfind("amount.", 0) == 0;
}

std::string Cube::AttributeRefList() const {
  std::string list;
  for (const CubeAttribute& attribute : attributes_)
    list += (list.empty() ? "" : ", ") + attribute.ref;
  return list;
}

std::string Cube::AggregateRefList() const {
  std::string list;
  for (const CubeAggregate& aggregate : aggregates_)
    list += (list.empty() ? "" : ", ") + aggregate.ref;
  return list;
}

nlohmann::ordered_json Cube::ModelJson() const {
  using json = nlohmann::ordered_json;
  json dimensions = json::object();
  for (const CubeDimension& dimension : dimensions_) {
    json entry = json::object();
    entry["label"] = dimension.label;
    entry["hierarchy"] = dimension.hierarchy;
    const CubeAttribute& top = attributes_[dimension.attributes.front()];
    entry["key_attribute"] = top.code_column.empty() ? top.name : top.code_column;
    entry["label_attribute"] = top.name;
    json levels = json::array();
    json attributes = json::object();
    for (size_t index : dimension.attributes) {
      const CubeAttribute& attribute = attributes_[index];
      json item = json::object();
      item["ref"] = attribute.ref;
      item["label"] = attribute.label;
      item["column"] = attribute.column;
      item["type"] = attribute.integer ? "integer" : "string";
      if (attribute.level) {
        json level = json::object();
        level["name"] = attribute.name;
        level["label_attribute"] = attribute.name;
        level["key_attribute"] =
            attribute.code_column.empty() ? attribute.name : attribute.code_column;
        levels.push_back(std::move(level));
      }
      attributes[attribute.name] = std::move(item);
    }
    entry["levels"] = std::move(levels);
    entry["attributes"] = std::move(attributes);
    entry["time"] = dimension.dimension_index < 0;
    dimensions[dimension.name] = std::move(entry);
  }
  json measures = json::object();
  measures["amount"] = json{{"label", "Amount"}, {"currency", "USD"}};
  json aggregates = json::object();
  for (const CubeAggregate& aggregate : aggregates_) {
    json item = json::object();
    item["label"] = aggregate.label;
    if (!aggregate.measure.empty()) item["measure"] = aggregate.measure;
    static constexpr const char* kNames[] = {"sum", "count", "max", "min"};
    item["function"] = kNames[static_cast<int>(aggregate.function)];
    aggregates[aggregate.ref] = std::move(item);
  }
  json model = json::object();
  model["dimensions"] = std::move(dimensions);
  model["measures"] = std::move(measures);
  model["aggregates"] = std::move(aggregates);
  return model;
}

}  // namespace citybooks

#include "conform/mapping.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "common/sha256.h"
#include "config/toml_reader.h"

namespace citybooks {

// Defined in the generated builtin_mappings.cc: name -> TOML text.
const std::map<std::string, std::string_view>& BuiltInMappingTexts();

namespace {

bool ValidIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 60) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

Status CheckIdentifier(TomlTable& table, const std::string& key, const std::string& value) {
  if (!ValidIdentifier(value))
    return Fail(table.KeyError(
        key, "is '" + value + "'; use lower-case letters, digits and '_' (it becomes a SQL name)"));
  return Ok();
}

Result<DimensionSpec> ReadDimension(TomlTable& table) {
  DimensionSpec dimension;
  CB_ASSIGN_OR_RETURN(dimension.name, table.String("name"));
  CB_RETURN_IF_ERROR(CheckIdentifier(table, "name", dimension.name));
  CB_ASSIGN_OR_RETURN(std::vector<TomlTable> levels, table.Tables("levels"));
  if (levels.empty()) return Fail(table.KeyError("levels", "needs at least one level"));
  for (TomlTable& level_table : levels) {
    LevelSpec level;
    CB_ASSIGN_OR_RETURN(level.name, level_table.String("name"));
    CB_RETURN_IF_ERROR(CheckIdentifier(level_table, "name", level.name));
    CB_ASSIGN_OR_RETURN(level.code, level_table.String("code", ""));
    if (!level.code.empty()) CB_RETURN_IF_ERROR(CheckIdentifier(level_table, "code", level.code));
    CB_RETURN_IF_ERROR(level_table.Finish());
    dimension.levels.push_back(level);
  }
  CB_ASSIGN_OR_RETURN(std::string key, table.String("key", "case_fold"));
  if (key == "case_fold") {
    dimension.key_rule = KeyRule::kCaseFold;
  } else if (key == "vendor_name") {
    dimension.key_rule = KeyRule::kVendorName;
  } else {
    return Fail(table.KeyError("key", "must be \"case_fold\" or \"vendor_name\""));
  }
  CB_ASSIGN_OR_RETURN(dimension.attributes, table.Strings("attributes"));
  for (const std::string& attribute : dimension.attributes)
    CB_RETURN_IF_ERROR(CheckIdentifier(table, "attributes", attribute));
  CB_RETURN_IF_ERROR(table.Finish());
  return dimension;
}

Result<AggregateSpec> ReadAggregate(TomlTable& table) {
  AggregateSpec aggregate;
  CB_ASSIGN_OR_RETURN(aggregate.name, table.String("name"));
  CB_RETURN_IF_ERROR(CheckIdentifier(table, "name", aggregate.name));
  CB_ASSIGN_OR_RETURN(aggregate.group_by, table.Strings("group_by"));
  CB_ASSIGN_OR_RETURN(aggregate.filter_column, table.String("filter_column", ""));
  CB_ASSIGN_OR_RETURN(aggregate.filter_equals, table.Strings("filter_equals"));
  CB_ASSIGN_OR_RETURN(aggregate.contains_column, table.String("contains_column", ""));
  CB_ASSIGN_OR_RETURN(aggregate.filter_contains, table.String("filter_contains", ""));
  CB_ASSIGN_OR_RETURN(aggregate.histogram, table.Boolean("histogram", false));
  CB_RETURN_IF_ERROR(table.Finish());
  return aggregate;
}

std::string ReplaceSchema(std::string sql, const std::string& schema) {
  const std::string token = "{schema}";
  for (size_t at = sql.find(token); at != std::string::npos; at = sql.find(token, at))
    sql.replace(at, token.size(), schema);
  return sql;
}

Result<ViewSpec> ReadView(TomlTable& table) {
  ViewSpec view;
  CB_ASSIGN_OR_RETURN(view.name, table.String("name"));
  CB_RETURN_IF_ERROR(CheckIdentifier(table, "name", view.name));
  CB_ASSIGN_OR_RETURN(view.title, table.String("title"));
  CB_ASSIGN_OR_RETURN(view.chart, table.String("chart", "table"));
  static const std::set<std::string> kCharts = {"pie", "bar", "histogram", "table", "line"};
  if (kCharts.count(view.chart) == 0)
    return Fail(table.KeyError("chart", "must be pie, bar, histogram, line or table"));
  CB_ASSIGN_OR_RETURN(view.sql, table.String("sql"));
  CB_ASSIGN_OR_RETURN(view.sql_from_facts, table.String("sql_from_facts"));
  CB_RETURN_IF_ERROR(table.Finish());
  return view;
}

// Reads [models]; `mapping` is complete but for it, so columns can be checked.
Result<ModelsSpec> ReadModels(TomlTable& table, const Mapping& mapping) {
  ModelsSpec models;
  auto dimension_column = [&](const std::string& key, const std::string& column) -> Status {
    if (mapping.DimensionOf(column) == nullptr)
      return Fail(table.KeyError(
          key, "names '" + column + "', which is not a dimension column of this mapping"));
    return Ok();
  };
  CB_ASSIGN_OR_RETURN(models.benford_groups, table.Strings("benford_groups"));
  if (!table.Has("benford_groups")) models.benford_groups = {"dataset"};
  for (const std::string& group : models.benford_groups)
    if (group != "dataset") CB_RETURN_IF_ERROR(dimension_column("benford_groups", group));

  CB_ASSIGN_OR_RETURN(models.outlier_peer_group, table.Strings("outlier_peer_group"));
  for (const std::string& column : models.outlier_peer_group)
    if (column != mapping.fiscal_year_column)
      CB_RETURN_IF_ERROR(dimension_column("outlier_peer_group", column));

  CB_ASSIGN_OR_RETURN(models.department, table.String("department", ""));
  if (!models.department.empty())
    CB_RETURN_IF_ERROR(dimension_column("department", models.department));

  CB_ASSIGN_OR_RETURN(models.duplicates, table.Boolean("duplicates", false));
  CB_ASSIGN_OR_RETURN(models.duplicate_vendor, table.String("duplicate_vendor", ""));
  CB_ASSIGN_OR_RETURN(models.duplicate_date, table.String("duplicate_date", mapping.date_column));
  CB_ASSIGN_OR_RETURN(models.duplicate_detail, table.String("duplicate_detail", ""));
  if (models.duplicates) {
    if (!mapping.has_date())
      return Fail(table.KeyError("duplicates", "needs payment dates: add a [date] column"));
    if (models.duplicate_vendor.empty())
      return Fail(table.KeyError("duplicates",
                                 "needs duplicate_vendor, the dimension column naming the vendor"));
    CB_RETURN_IF_ERROR(dimension_column("duplicate_vendor", models.duplicate_vendor));
    if (models.duplicate_date != mapping.date_column)
      return Fail(table.KeyError("duplicate_date",
                                 "must be the [date] column '" + mapping.date_column + "'"));
    if (!models.duplicate_detail.empty())
      CB_RETURN_IF_ERROR(dimension_column("duplicate_detail", models.duplicate_detail));
  }

  CB_ASSIGN_OR_RETURN(std::string forecast, table.String("forecast", "none"));
  if (forecast == "none") {
    models.forecast = ForecastKind::kNone;
  } else if (forecast == "monthly" && mapping.has_date()) {
    models.forecast = ForecastKind::kMonthly;
  } else if (forecast == "yearly") {
    models.forecast = ForecastKind::kYearly;
  } else {
    return Fail(table.KeyError(
        "forecast", "must be \"none\", \"yearly\", or \"monthly\" with a [date] column"));
  }
  if (models.forecast != ForecastKind::kNone && models.department.empty())
    return Fail(table.KeyError("forecast",
                               "needs department, the dimension column the forecast groups by"));
  CB_ASSIGN_OR_RETURN(models.forecast_filter_column, table.String("forecast_filter_column", ""));
  CB_ASSIGN_OR_RETURN(models.forecast_filter_equals, table.Strings("forecast_filter_equals"));
  if (!models.forecast_filter_column.empty()) {
    CB_RETURN_IF_ERROR(dimension_column("forecast_filter_column", models.forecast_filter_column));
    if (models.forecast_filter_equals.empty())
      return Fail(table.KeyError("forecast_filter_column",
                                 "needs forecast_filter_equals, the values that count"));
  }
  CB_RETURN_IF_ERROR(table.Finish());
  return models;
}

}  // namespace

std::string ViewSpec::Sql(const std::string& schema) const { return ReplaceSchema(sql, schema); }
std::string ViewSpec::SqlFromFacts(const std::string& schema) const {
  return ReplaceSchema(sql_from_facts, schema);
}

std::vector<std::string> DimensionSpec::columns() const {
  std::vector<std::string> out;
  for (const LevelSpec& level : levels) {
    out.push_back(level.name);
    if (!level.code.empty()) out.push_back(level.code);
  }
  out.insert(out.end(), attributes.begin(), attributes.end());
  return out;
}

std::string Mapping::SourceColumn(const std::string& column) const {
  auto it = source_columns.find(column);
  return it == source_columns.end() ? column : it->second;
}

std::vector<std::string> Mapping::TimeColumns() const {
  if (has_date()) return {date_column, "fiscal_year", "fiscal_month"};
  return {fiscal_year_column};
}

std::string Mapping::PartitionExpression(const std::string& alias) const {
  std::string prefix = alias.empty() ? "" : alias + ".";
  if (partition == Partition::kFiscalMonth)
    return "(" + prefix + "\"fiscal_year\" * 100 + " + prefix + "\"fiscal_month\")";
  return prefix + "\"" + fiscal_year_column + "\"";
}

std::vector<std::string> Mapping::RequiredColumns() const {
  std::vector<std::string> columns = {has_date() ? date_column : fiscal_year_column, amount_column};
  for (const DimensionSpec& dimension : dimensions)
    for (const std::string& column : dimension.columns()) columns.push_back(column);
  return columns;
}

const DimensionSpec* Mapping::DimensionOf(const std::string& column) const {
  for (const DimensionSpec& dimension : dimensions)
    for (const std::string& owned : dimension.columns())
      if (owned == column) return &dimension;
  return nullptr;
}

Result<Mapping> ParseMapping(const std::string& text, const std::string& file) {
  CB_ASSIGN_OR_RETURN(auto document, ParseToml(text, file));
  TomlTable root(&document->root, file, "");
  Mapping mapping;
  mapping.fingerprint = Sha256Hex(text);
  CB_ASSIGN_OR_RETURN(mapping.name, root.String("name"));
  CB_ASSIGN_OR_RETURN(mapping.fact_table, root.String("fact_table"));
  CB_RETURN_IF_ERROR(CheckIdentifier(root, "fact_table", mapping.fact_table));
  CB_ASSIGN_OR_RETURN(auto date, root.Table("date"));
  if (date) {
    CB_ASSIGN_OR_RETURN(mapping.date_column, date->String("column"));
    CB_RETURN_IF_ERROR(CheckIdentifier(*date, "column", mapping.date_column));
    CB_ASSIGN_OR_RETURN(std::string format, date->String("format", "M/D/YYYY"));
    if (format == "M/D/YYYY") {
      mapping.date_format = DateFormat::kMonthDayYear;
    } else if (format == "YYYY-MM-DD") {
      mapping.date_format = DateFormat::kIso;
    } else {
      return Fail(date->KeyError("format", "must be \"M/D/YYYY\" or \"YYYY-MM-DD\""));
    }
    CB_RETURN_IF_ERROR(date->Finish());
    if (root.Has("fiscal_year"))
      return Fail(root.KeyError("fiscal_year",
                                "cannot be given with [date]: the fiscal year is derived from it"));
    mapping.fiscal_year_column = "fiscal_year";
  } else {
    CB_ASSIGN_OR_RETURN(mapping.fiscal_year_column, root.String("fiscal_year"));
    CB_RETURN_IF_ERROR(CheckIdentifier(root, "fiscal_year", mapping.fiscal_year_column));
  }
  CB_ASSIGN_OR_RETURN(std::string partition, root.String("partition", "fiscal_year"));
  if (partition == "fiscal_year") {
    mapping.partition = Partition::kFiscalYear;
  } else if (partition == "fiscal_month" && mapping.has_date()) {
    mapping.partition = Partition::kFiscalMonth;
  } else {
    return Fail(root.KeyError("partition",
                              "must be \"fiscal_year\", or \"fiscal_month\" with a "
                              "[date] column"));
  }
  CB_ASSIGN_OR_RETURN(int64_t start_month, root.Integer("fiscal_year_start_month", 7));
  if (start_month < 1 || start_month > 12)
    return Fail(root.KeyError("fiscal_year_start_month", "must be a month from 1 to 12"));
  mapping.fiscal_year_start_month = static_cast<int>(start_month);
  CB_ASSIGN_OR_RETURN(mapping.amount_column, root.String("amount", "amount"));
  CB_RETURN_IF_ERROR(CheckIdentifier(root, "amount", mapping.amount_column));
  CB_ASSIGN_OR_RETURN(std::string format, root.String("amount_format", "plain"));
  if (format == "plain") {
    mapping.amount_format = AmountFormat::kPlain;
  } else if (format == "accounting") {
    mapping.amount_format = AmountFormat::kAccounting;
  } else {
    return Fail(root.KeyError("amount_format", "must be \"plain\" or \"accounting\""));
  }
  CB_ASSIGN_OR_RETURN(int64_t min_year, root.Integer("min_fiscal_year", 1900));
  CB_ASSIGN_OR_RETURN(int64_t max_year, root.Integer("max_fiscal_year", 2100));
  mapping.min_fiscal_year = static_cast<int>(min_year);
  mapping.max_fiscal_year = static_cast<int>(max_year);

  CB_ASSIGN_OR_RETURN(auto columns, root.Table("columns"));
  if (columns) {
    for (const std::string& key : columns->Keys()) {
      CB_ASSIGN_OR_RETURN(mapping.source_columns[key], columns->String(key));
    }
    CB_RETURN_IF_ERROR(columns->Finish());
  }

  CB_ASSIGN_OR_RETURN(std::vector<TomlTable> dimensions, root.Tables("dimensions"));
  if (dimensions.empty()) return Fail(root.KeyError("dimensions", "needs at least one dimension"));
  std::set<std::string> seen_columns = {mapping.amount_column};
  for (const std::string& column : mapping.TimeColumns()) seen_columns.insert(column);
  std::set<std::string> seen_dimensions;
  for (TomlTable& table : dimensions) {
    CB_ASSIGN_OR_RETURN(DimensionSpec dimension, ReadDimension(table));
    if (!seen_dimensions.insert(dimension.name).second)
      return Fail(table.KeyError("name", "repeats dimension '" + dimension.name + "'"));
    for (const std::string& column : dimension.columns())
      if (!seen_columns.insert(column).second)
        return Fail(table.KeyError("levels", "uses column '" + column + "' twice in the mapping"));
    mapping.dimensions.push_back(std::move(dimension));
  }

  if (mapping.dimensions.size() > kMaxDimensions)
    return Fail(root.KeyError("dimensions", "has " + std::to_string(mapping.dimensions.size()) +
                                                " dimensions; at most " +
                                                std::to_string(kMaxDimensions) + " are supported"));
  if (mapping.min_fiscal_year < 1 || mapping.max_fiscal_year < mapping.min_fiscal_year ||
      mapping.max_fiscal_year - mapping.min_fiscal_year > 1000)
    return Fail(root.KeyError("max_fiscal_year",
                              "must be at least min_fiscal_year and within "
                              "1000 years of it"));
  CB_ASSIGN_OR_RETURN(auto cleaning, root.Table("cleaning"));
  if (cleaning) {
    CB_ASSIGN_OR_RETURN(mapping.trim, cleaning->Boolean("trim", true));
    CB_ASSIGN_OR_RETURN(mapping.case_fold, cleaning->Boolean("case_fold", true));
    CB_ASSIGN_OR_RETURN(auto placeholders, cleaning->Table("null_placeholders"));
    if (placeholders) {
      for (const std::string& key : placeholders->Keys()) {
        if (seen_columns.count(key) == 0)
          return Fail(placeholders->KeyError(key, "is not a column of this mapping"));
        CB_ASSIGN_OR_RETURN(mapping.null_placeholders[key], placeholders->String(key));
      }
      CB_RETURN_IF_ERROR(placeholders->Finish());
    }
    CB_ASSIGN_OR_RETURN(auto value_maps, cleaning->Table("value_maps"));
    if (value_maps) {
      for (const std::string& column : value_maps->Keys()) {
        if (seen_columns.count(column) == 0)
          return Fail(value_maps->KeyError(column, "is not a column of this mapping"));
        CB_ASSIGN_OR_RETURN(auto map, value_maps->Table(column));
        if (!map) continue;
        for (const std::string& from : map->Keys()) {
          CB_ASSIGN_OR_RETURN(mapping.value_maps[column][from], map->String(from));
        }
        CB_RETURN_IF_ERROR(map->Finish());
      }
      CB_RETURN_IF_ERROR(value_maps->Finish());
    }
    CB_RETURN_IF_ERROR(cleaning->Finish());
  }

  CB_ASSIGN_OR_RETURN(mapping.checks, ReadChecks(root));
  CB_ASSIGN_OR_RETURN(std::vector<TomlTable> aggregates, root.Tables("aggregates"));
  for (TomlTable& table : aggregates) {
    CB_ASSIGN_OR_RETURN(AggregateSpec aggregate, ReadAggregate(table));
    std::vector<std::string> time_columns = mapping.TimeColumns();
    for (const std::string& column : aggregate.group_by)
      if (std::find(time_columns.begin(), time_columns.end(), column) == time_columns.end() &&
          mapping.DimensionOf(column) == nullptr)
        return Fail(table.KeyError(
            "group_by", "names '" + column + "', which is not a column of this mapping"));
    std::set<std::string> dimension_columns;
    for (const std::string& column : aggregate.group_by)
      if (mapping.DimensionOf(column) != nullptr) dimension_columns.insert(column);
    for (const std::string* column : {&aggregate.filter_column, &aggregate.contains_column})
      if (!column->empty()) dimension_columns.insert(*column);
    if (dimension_columns.size() > kMaxAggregateColumns)
      return Fail(table.KeyError("group_by", "reads " + std::to_string(dimension_columns.size()) +
                                                 " dimension columns; at most " +
                                                 std::to_string(kMaxAggregateColumns) +
                                                 " are supported"));
    for (const std::string* column : {&aggregate.filter_column, &aggregate.contains_column})
      if (!column->empty() && mapping.DimensionOf(*column) == nullptr)
        return Fail(table.KeyError("filter_column",
                                   "names '" + *column + "', which is not a dimension column"));
    mapping.aggregates.push_back(std::move(aggregate));
  }
  CB_ASSIGN_OR_RETURN(std::vector<TomlTable> views, root.Tables("views"));
  for (TomlTable& table : views) {
    CB_ASSIGN_OR_RETURN(ViewSpec view, ReadView(table));
    mapping.views.push_back(std::move(view));
  }
  CB_ASSIGN_OR_RETURN(auto models, root.Table("models"));
  if (models) {
    CB_ASSIGN_OR_RETURN(mapping.models, ReadModels(*models, mapping));
  }
  CB_RETURN_IF_ERROR(root.Finish());
  return mapping;
}

std::vector<std::string> BuiltInMappingNames() {
  std::vector<std::string> names;
  for (const auto& [name, text] : BuiltInMappingTexts()) names.push_back(name);
  return names;
}

Result<Mapping> LoadMapping(const std::string& name_or_path) {
  const auto& built_in = BuiltInMappingTexts();
  if (auto it = built_in.find(name_or_path); it != built_in.end())
    return ParseMapping(std::string(it->second), "built-in mapping " + name_or_path);
  std::ifstream file(name_or_path, std::ios::binary);
  if (!file) {
    std::string names;
    for (const auto& [name, text] : built_in) names += (names.empty() ? "" : ", ") + name;
    return Fail(ErrorCode::kInvalidArgument, "mapping '" + name_or_path +
                                                 "' is neither a built-in mapping (" + names +
                                                 ") nor a readable file");
  }
  std::stringstream text;
  text << file.rdbuf();
  return ParseMapping(text.str(), name_or_path);
}

std::string PartitionsText(const std::vector<int64_t>& partitions, size_t listed_months) {
  if (partitions.empty()) return "";
  if (partitions.front() > 9999) {
    auto month = [](int64_t value) {
      char text[48];
      std::snprintf(text, sizeof text, "FY%lld/%02lld", static_cast<long long>(value / 100),
                    static_cast<long long>(value % 100));
      return std::string(text);
    };
    if (partitions.size() > std::max<size_t>(listed_months, 1))
      return std::to_string(partitions.size()) + " fiscal months, " + month(partitions.front()) +
             " to " + month(partitions.back());
    std::string text = "fiscal month" + std::string(partitions.size() == 1 ? " " : "s ");
    for (size_t i = 0; i < partitions.size(); ++i) text += (i ? ", " : "") + month(partitions[i]);
    return text;
  }
  if (partitions.size() == 1) return "fiscal year " + std::to_string(partitions.front());
  const bool contiguous =
      partitions.back() - partitions.front() + 1 == static_cast<int64_t>(partitions.size());
  if (contiguous)
    return "fiscal years " + std::to_string(partitions.front()) + "-" +
           std::to_string(partitions.back());
  std::string text = "fiscal years ";
  for (size_t i = 0; i < partitions.size(); ++i)
    text += (i ? ", " : "") + std::to_string(partitions[i]);
  return text;
}

}  // namespace citybooks

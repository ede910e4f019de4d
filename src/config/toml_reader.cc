#include "config/toml_reader.h"

#include <sstream>

namespace citybooks {

namespace {

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

const char* TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date or time";
  }
}

}  // namespace

Result<std::unique_ptr<TomlDocument>> ParseToml(const std::string& text, const std::string& file) {
  try {
    auto document = std::make_unique<TomlDocument>();
    document->root = toml::parse(text, file);
    return document;
  } catch (const toml::parse_error& error) {
    std::ostringstream message;
    message << file << " line " << error.source().begin.line << ", column "
            << error.source().begin.column << ": " << error.description();
    return Fail(ErrorCode::kInvalidArgument, message.str());
  }
}

TomlTable::TomlTable(const toml::table* table, std::string file, std::string path)
    : table_(table), file_(std::move(file)), path_(std::move(path)) {}

bool TomlTable::Has(const std::string& key) const { return table_->contains(key); }

std::vector<std::string> TomlTable::Keys() const {
  std::vector<std::string> keys;
  for (const auto& [key, value] : *table_) keys.emplace_back(key.str());
  return keys;
}

std::string TomlTable::Where(const std::string& key) const {
  std::ostringstream where;
  where << file_ << ": " << Join(path_, key);
  const toml::node* node = table_->get(key);
  if (node != nullptr && node->source().begin.line > 0)
    where << " (line " << node->source().begin.line << ")";
  return where.str();
}

Error TomlTable::KeyError(const std::string& key, const std::string& problem) const {
  return Error(ErrorCode::kInvalidArgument, Where(key) + " " + problem);
}

const toml::node* TomlTable::Get(const std::string& key) {
  read_.insert(key);
  return table_->get(key);
}

Result<std::string> TomlTable::String(const std::string& key, std::optional<std::string> fallback) {
  const toml::node* node = Get(key);
  if (node == nullptr) {
    if (fallback) return *fallback;
    return Fail(
        Error(ErrorCode::kInvalidArgument, file_ + ": " + Join(path_, key) + " is required"));
  }
  if (auto value = node->value<std::string>(); value && node->is_string()) return *value;
  return Fail(KeyError(key, std::string("must be a string, not ") + TypeName(*node)));
}

Result<int64_t> TomlTable::Integer(const std::string& key, std::optional<int64_t> fallback) {
  const toml::node* node = Get(key);
  if (node == nullptr) {
    if (fallback) return *fallback;
    return Fail(
        Error(ErrorCode::kInvalidArgument, file_ + ": " + Join(path_, key) + " is required"));
  }
  if (node->is_integer()) return *node->value<int64_t>();
  return Fail(KeyError(key, std::string("must be an integer, not ") + TypeName(*node)));
}

Result<double> TomlTable::Float(const std::string& key, std::optional<double> fallback) {
  const toml::node* node = Get(key);
  if (node == nullptr) {
    if (fallback) return *fallback;
    return Fail(
        Error(ErrorCode::kInvalidArgument, file_ + ": " + Join(path_, key) + " is required"));
  }
  if (node->is_number()) return *node->value<double>();
  return Fail(KeyError(key, std::string("must be a number, not ") + TypeName(*node)));
}

Result<bool> TomlTable::Boolean(const std::string& key, std::optional<bool> fallback) {
  const toml::node* node = Get(key);
  if (node == nullptr) {
    if (fallback) return *fallback;
    return Fail(
        Error(ErrorCode::kInvalidArgument, file_ + ": " + Join(path_, key) + " is required"));
  }
  if (node->is_boolean()) return *node->value<bool>();
  return Fail(KeyError(key, std::string("must be true or false, not ") + TypeName(*node)));
}

Result<std::vector<std::string>> TomlTable::Strings(const std::string& key) {
  std::vector<std::string> values;
  const toml::node* node = Get(key);
  if (node == nullptr) return values;
  const toml::array* array = node->as_array();
  if (array == nullptr)
    return Fail(KeyError(key, std::string("must be an array of strings, not ") + TypeName(*node)));
  for (const toml::node& element : *array) {
    if (!element.is_string())
      return Fail(KeyError(key, std::string("must hold only strings, found ") + TypeName(element)));
    values.push_back(*element.value<std::string>());
  }
  return values;
}

Result<std::optional<TomlTable>> TomlTable::Table(const std::string& key) {
  const toml::node* node = Get(key);
  if (node == nullptr) return std::optional<TomlTable>();
  if (!node->is_table())
    return Fail(KeyError(key, std::string("must be a table, not ") + TypeName(*node)));
  return std::optional<TomlTable>(TomlTable(node->as_table(), file_, Join(path_, key)));
}

Result<std::vector<TomlTable>> TomlTable::Tables(const std::string& key) {
  std::vector<TomlTable> tables;
  const toml::node* node = Get(key);
  if (node == nullptr) return tables;
  const toml::array* array = node->as_array();
  if (array == nullptr)
    return Fail(KeyError(key, std::string("must be an array of tables, not ") + TypeName(*node)));
  size_t index = 0;
  for (const toml::node& element : *array) {
    if (!element.is_table())
      return Fail(KeyError(key, std::string("must hold only tables, found ") + TypeName(element)));
    tables.emplace_back(element.as_table(), file_,
                        Join(path_, key) + "[" + std::to_string(index++) + "]");
  }
  return tables;
}

Status TomlTable::Finish() const {
  for (const auto& [key, value] : *table_) {
    std::string name(key.str());
    if (read_.count(name) == 0) {
      std::ostringstream message;
      message << file_ << ": unknown key " << Join(path_, name);
      if (value.source().begin.line > 0) message << " (line " << value.source().begin.line << ")";
      return Fail(ErrorCode::kInvalidArgument, message.str());
    }
  }
  return Ok();
}

Result<std::vector<CheckSpec>> ReadChecks(TomlTable& parent) {
  std::vector<CheckSpec> checks;
  CB_ASSIGN_OR_RETURN(std::vector<TomlTable> tables, parent.Tables("checks"));
  static const std::set<std::string> kTypes = {"not_null",      "unique",      "accepted_values",
                                               "relationships", "many_to_one", "row_count_min",
                                               "reconcile",     "freshness"};
  for (TomlTable& table : tables) {
    CheckSpec check;
    CB_ASSIGN_OR_RETURN(check.type, table.String("type"));
    if (kTypes.count(check.type) == 0)
      return Fail(table.KeyError("type", "is '" + check.type +
                                             "'; use one of not_null, unique, accepted_values, "
                                             "relationships, many_to_one, row_count_min, "
                                             "reconcile, freshness"));
    CB_ASSIGN_OR_RETURN(check.name, table.String("name", ""));
    CB_ASSIGN_OR_RETURN(check.table, table.String("table", ""));
    CB_ASSIGN_OR_RETURN(check.columns, table.Strings("columns"));
    if (table.Has("column")) {
      CB_ASSIGN_OR_RETURN(std::string column, table.String("column"));
      check.columns.insert(check.columns.begin(), column);
    }
    CB_ASSIGN_OR_RETURN(check.values, table.Strings("values"));
    CB_ASSIGN_OR_RETURN(check.to, table.String("to", ""));
    CB_ASSIGN_OR_RETURN(check.min, table.Integer("min", 0));
    CB_ASSIGN_OR_RETURN(check.max_age_days, table.Integer("max_age_days", 0));
    CB_ASSIGN_OR_RETURN(check.severity, table.String("severity", "error"));
    if (check.severity != "error" && check.severity != "warn")
      return Fail(table.KeyError("severity", "must be \"error\" or \"warn\""));
    bool needs_table = check.type != "reconcile";
    if (needs_table && check.table.empty())
      return Fail(Error(ErrorCode::kInvalidArgument,
                        table.file() + ": " + table.path() + " needs a table"));
    bool needs_columns = check.type == "not_null" || check.type == "unique" ||
                         check.type == "accepted_values" || check.type == "relationships" ||
                         check.type == "many_to_one" || check.type == "freshness";
    if (needs_columns && check.columns.empty())
      return Fail(Error(ErrorCode::kInvalidArgument,
                        table.file() + ": " + table.path() + " needs column or columns"));
    if (check.type == "accepted_values" && check.values.empty())
      return Fail(
          Error(ErrorCode::kInvalidArgument, table.file() + ": " + table.path() + " needs values"));
    if (check.type == "relationships" && check.to.find('.') == std::string::npos)
      return Fail(Error(ErrorCode::kInvalidArgument,
                        table.file() + ": " + table.path() + " needs to = \"table.column\""));
    if (check.type == "many_to_one" && check.columns.size() < 2)
      return Fail(Error(
          ErrorCode::kInvalidArgument,
          table.file() + ": " + table.path() + " needs columns = [name columns..., code column]"));
    if (check.name.empty()) {
      check.name = check.type;
      if (!check.table.empty()) check.name += ":" + check.table;
      for (const std::string& column : check.columns) check.name += ":" + column;
    }
    CB_RETURN_IF_ERROR(table.Finish());
    checks.push_back(std::move(check));
  }
  return checks;
}

}  // namespace citybooks

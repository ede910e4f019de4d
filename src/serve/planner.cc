#include "serve/planner.h"

#include <algorithm>
#include <set>

#include "common/text.h"

namespace citybooks {

namespace {

std::string Qualified(const Cube& cube, const std::string& table) {
  return QuoteIdentifier(cube.schema()) + "." + QuoteIdentifier(table);
}

// Where a query reads: an aggregate table (alias a) or the fact table (alias
// f) joined with the dimension tables it needs (aliases d0, d1, ...).
class Source {
 public:
  Source(const Cube& cube, const AggregateSpec* aggregate) : cube_(cube), aggregate_(aggregate) {}

  bool from_aggregate() const { return aggregate_ != nullptr; }
  std::string table() const {
    return aggregate_ ? aggregate_->table() : cube_.mapping().fact_table;
  }

  // The SQL expression reading `attribute`, joining its dimension if needed.
  std::string Column(const CubeAttribute& attribute) {
    if (aggregate_) return "a." + QuoteIdentifier(attribute.column);
    if (attribute.is_time()) return "f." + QuoteIdentifier(attribute.column);
    joined_.insert(attribute.dimension_index);
    return "d" + std::to_string(attribute.dimension_index) + "." +
           QuoteIdentifier(attribute.column);
  }

  // The expression of `aggregate` over this source.
  std::string Aggregate(const CubeAggregate& aggregate) const {
    switch (aggregate.function) {
      case AggregateFunction::kSum:
        return aggregate_ ? "SUM(a.amount_cents)" : "SUM(f.amount_cents)";
      case AggregateFunction::kCount:
        return aggregate_ ? "SUM(a.transactions)" : "COUNT(*)";
      case AggregateFunction::kMax:
        return aggregate_ ? "MAX(a.max_amount_cents)" : "MAX(f.amount_cents)";
      case AggregateFunction::kMin:
        return aggregate_ ? "MIN(a.min_amount_cents)" : "MIN(f.amount_cents)";
    }
    return "NULL";
  }

  // FROM ... with the joins every Column() call so far needed.
  std::string From() const {
    if (aggregate_) return Qualified(cube_, aggregate_->table()) + " a";
    std::string from = Qualified(cube_, cube_.mapping().fact_table) + " f";
    for (int index : joined_) {
      const DimensionSpec& dimension = cube_.mapping().dimensions[static_cast<size_t>(index)];
      std::string alias = "d" + std::to_string(index);
      std::string id = QuoteIdentifier(dimension.id_column());
      from += " JOIN " + Qualified(cube_, dimension.table()) + " " + alias + " ON " + alias + "." +
              id + " = f." + id;
    }
    return from;
  }

 private:
  const Cube& cube_;
  const AggregateSpec* aggregate_;
  std::set<int> joined_;
};

// " WHERE ..." for the cuts (and a search), or "".
std::string Where(Source& source, const std::vector<Cut>& cuts, const Search& search,
                  std::vector<Value>* params) {
  std::vector<std::string> conditions;
  for (const Cut& cut : cuts)
    conditions.push_back(CutCondition(source.Column(*cut.attribute), cut.values, params));
  if (search.attribute != nullptr && !search.text.empty()) {
    conditions.push_back("LOWER(" + source.Column(*search.attribute) + ") LIKE ? ESCAPE '\\'");
    params->emplace_back(ContainsPattern(search.text));
  }
  std::string where;
  for (size_t i = 0; i < conditions.size(); ++i) where += (i ? " AND " : " WHERE ") + conditions[i];
  return where;
}

std::string Limit(const Paging& paging, std::vector<Value>* params) {
  params->emplace_back(paging.pagesize);
  params->emplace_back(paging.offset());
  return " LIMIT ? OFFSET ?";
}

}  // namespace

std::vector<Cell> BoundSql::Cells() const {
  std::vector<Cell> cells;
  cells.reserve(params.size());
  for (const Value& value : params) {
    if (std::holds_alternative<int64_t>(value)) {
      cells.push_back(Cell::Int(std::get<int64_t>(value)));
    } else if (std::holds_alternative<double>(value)) {
      cells.push_back(Cell::Real(std::get<double>(value)));
    } else if (std::holds_alternative<std::string>(value)) {
      cells.push_back(Cell::Text(std::get<std::string>(value)));
    } else {
      cells.push_back(Cell::Null());
    }
  }
  return cells;
}

std::string CutCondition(const std::string& column, const std::vector<CutValue>& values,
                         std::vector<Value>* params) {
  std::vector<std::string> parts;
  std::string in;
  std::vector<Value> in_params;
  for (const CutValue& value : values) {
    switch (value.kind) {
      case CutValue::Kind::kText:
        in += in.empty() ? "?" : ", ?";
        in_params.emplace_back(value.text);
        break;
      case CutValue::Kind::kInteger:
        in += in.empty() ? "?" : ", ?";
        in_params.emplace_back(value.integer);
        break;
      case CutValue::Kind::kRange:
        break;
    }
  }
  if (!in.empty()) {
    parts.push_back(in_params.size() == 1 ? column + " = ?" : column + " IN (" + in + ")");
    for (Value& value : in_params) params->push_back(std::move(value));
  }
  for (const CutValue& value : values) {
    if (value.kind != CutValue::Kind::kRange) continue;
    parts.push_back(column + " BETWEEN ? AND ?");
    params->emplace_back(value.integer);
    params->emplace_back(value.upper);
  }
  if (parts.size() == 1) return parts.front();
  std::string sql = "(";
  for (size_t i = 0; i < parts.size(); ++i) sql += (i ? " OR " : "") + parts[i];
  return sql + ")";
}

std::string ContainsPattern(std::string_view text) {
  std::string pattern = "%";
  for (char c : AsciiLower(text)) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  return pattern + "%";
}

std::vector<const AggregateSpec*> CoveringAggregates(const Mapping& mapping,
                                                     const std::vector<std::string>& columns,
                                                     const std::vector<AggregateTable>& tables) {
  std::vector<std::pair<int64_t, size_t>> ranked;  // rows, index in mapping.aggregates
  for (const AggregateTable& table : tables) {
    const AggregateSpec& spec = *table.spec;
    if (spec.histogram || !spec.filter_column.empty() || !spec.contains_column.empty()) continue;
    bool covers = true;
    for (const std::string& column : columns)
      covers = covers &&
               std::find(spec.group_by.begin(), spec.group_by.end(), column) != spec.group_by.end();
    if (!covers) continue;
    size_t index = static_cast<size_t>(&spec - mapping.aggregates.data());
    ranked.emplace_back(table.rows, index);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<const AggregateSpec*> covering;
  for (const auto& [rows, index] : ranked) covering.push_back(&mapping.aggregates[index]);
  return covering;
}

AggregatePlan PlanAggregate(const Cube& cube, const AggregateQuery& query,
                            const std::vector<AggregateTable>& tables) {
  std::vector<std::string> columns;
  for (const CubeAttribute* attribute : query.drilldowns) columns.push_back(attribute->column);
  for (const Cut& cut : query.cuts) columns.push_back(cut.attribute->column);
  if (query.search.attribute) columns.push_back(query.search.attribute->column);
  std::vector<const AggregateSpec*> covering = CoveringAggregates(cube.mapping(), columns, tables);
  Source source(cube, covering.empty() ? nullptr : covering.front());

  AggregatePlan plan;
  plan.source = source.table();
  for (const AggregateTable& table : tables)
    if (!covering.empty() && table.spec == covering.front()) plan.source_rows = table.rows;
  std::string select, group;
  for (size_t i = 0; i < query.drilldowns.size(); ++i) {
    std::string column = source.Column(*query.drilldowns[i]);
    select += (i ? ", " : "") + column + " AS c" + std::to_string(i);
    group += (i ? ", " : "") + column;
  }
  for (size_t j = 0; j < query.aggregates.size(); ++j)
    select += std::string(select.empty() ? "" : ", ") + source.Aggregate(*query.aggregates[j]) +
              " AS x" + std::to_string(j);
  std::vector<Value> params;
  std::string where = Where(source, query.cuts, query.search, &params);
  std::string grouped = "SELECT " + select + " FROM " + source.From() + where;
  if (!group.empty()) grouped += " GROUP BY " + group;

  // Summary: the count of cells and each aggregate over them, from the same
  // grouped rows (a sum of sums, the largest of maxima, ...).
  std::string summary = "SELECT COUNT(*)";
  for (size_t j = 0; j < query.aggregates.size(); ++j) {
    std::string x = "t.x" + std::to_string(j);
    switch (query.aggregates[j]->function) {
      case AggregateFunction::kSum:
      case AggregateFunction::kCount:
        summary += ", SUM(" + x + ")";
        break;
      case AggregateFunction::kMax:
        summary += ", MAX(" + x + ")";
        break;
      case AggregateFunction::kMin:
        summary += ", MIN(" + x + ")";
        break;
    }
  }
  plan.summary.sql = summary + " FROM (" + grouped + ") t";
  plan.summary.params = params;
  plan.grouped.sql = grouped;
  plan.grouped.params = params;

  // Order: the keys asked for, then every drilldown so pages are stable.
  std::string order;
  std::set<std::string> ordered;
  auto add_order = [&](const std::string& alias, size_t column, bool descending) {
    if (!ordered.insert(alias).second) return;
    order += (order.empty() ? " ORDER BY " : ", ") + alias + (descending ? " DESC" : " ASC");
    plan.sort_keys.emplace_back(column, descending);
  };
  size_t drilldowns = query.drilldowns.size();
  for (const OrderKey& key : query.order) {
    for (size_t i = 0; i < drilldowns; ++i)
      if (query.drilldowns[i]->ref == key.ref || cube.FindAttribute(key.ref) == query.drilldowns[i])
        add_order("c" + std::to_string(i), i, key.descending);
    for (size_t j = 0; j < query.aggregates.size(); ++j)
      if (query.aggregates[j]->ref == key.ref)
        add_order("x" + std::to_string(j), drilldowns + j, key.descending);
  }
  for (size_t i = 0; i < drilldowns; ++i) add_order("c" + std::to_string(i), i, false);
  plan.cells.sql = grouped + order + Limit(query.paging, &params);
  plan.cells.params = std::move(params);
  return plan;
}

int CompareValues(const Value& a, const Value& b) {
  auto rank = [](const Value& value) {
    if (std::holds_alternative<std::monostate>(value)) return 0;
    if (std::holds_alternative<std::string>(value)) return 2;
    return 1;
  };
  int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 0) return 0;
  if (ra == 2) return std::get<std::string>(a).compare(std::get<std::string>(b));
  if (std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b)) {
    int64_t x = std::get<int64_t>(a), y = std::get<int64_t>(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  auto number = [](const Value& value) {
    return std::holds_alternative<int64_t>(value) ? static_cast<double>(std::get<int64_t>(value))
                                                  : std::get<double>(value);
  };
  double x = number(a), y = number(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

void SortCells(std::vector<std::vector<Value>>* rows,
               const std::vector<std::pair<size_t, bool>>& sort_keys) {
  std::stable_sort(rows->begin(), rows->end(),
                   [&sort_keys](const std::vector<Value>& a, const std::vector<Value>& b) {
                     for (const auto& [column, descending] : sort_keys) {
                       int order = CompareValues(a[column], b[column]);
                       if (order != 0) return descending ? order > 0 : order < 0;
                     }
                     return false;
                   });
}

FactsPlan PlanFacts(const Cube& cube, const FactsQuery& query) {
  FactsPlan plan;
  Source source(cube, nullptr);
  std::vector<std::string> select;
  std::vector<std::pair<std::string, std::string>> sortable;  // ref -> expression
  for (const CubeAttribute* field : query.fields) {
    std::string column = source.Column(*field);
    select.push_back(column);
    sortable.emplace_back(field->ref, column);
  }
  if (query.amount) {
    select.push_back("f.amount_cents");
    sortable.emplace_back("amount", "f.amount_cents");
    sortable.emplace_back("amount_cents", "f.amount_cents");
  }
  if (query.fact_id) {
    select.push_back("f.fact_id");
    sortable.emplace_back("fact_id", "f.fact_id");
  }
  std::vector<Value> params;
  // The count joins only what the cuts need.
  Source count_source(cube, nullptr);
  std::vector<Value> count_params;
  std::string count_where = Where(count_source, query.cuts, {}, &count_params);
  plan.count.sql = "SELECT COUNT(*) FROM " + count_source.From() + count_where;
  plan.count.params = std::move(count_params);

  std::string where = Where(source, query.cuts, {}, &params);
  std::string order;
  std::set<std::string> ordered;
  auto add_order = [&](const std::string& expression, bool descending) {
    if (!ordered.insert(expression).second) return;
    order += (order.empty() ? " ORDER BY " : ", ") + expression + (descending ? " DESC" : " ASC");
  };
  for (const OrderKey& key : query.order)
    for (const auto& [ref, expression] : sortable)
      if (ref == key.ref) add_order(expression, key.descending);
  // Then a stable order: the fact id when there is one, else every column.
  if (query.fact_id) {
    add_order("f.fact_id", false);
  } else {
    for (const std::string& column : select) add_order(column, false);
  }
  std::string list;
  for (size_t i = 0; i < select.size(); ++i) list += (i ? ", " : "") + select[i];
  plan.rows.sql =
      "SELECT " + list + " FROM " + source.From() + where + order + Limit(query.paging, &params);
  plan.rows.params = std::move(params);
  return plan;
}

}  // namespace citybooks

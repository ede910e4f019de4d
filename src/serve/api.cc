#include "serve/api.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "common/log.h"
#include "common/text.h"

namespace citybooks {

namespace {

using json = nlohmann::ordered_json;

ApiError Internal(const Error& error) { return ApiError{500, "", error.message()}; }

std::string TableName(const Cube& cube, const std::string& table) {
  return QuoteIdentifier(cube.schema()) + "." + QuoteIdentifier(table);
}

// Cents from a SUM/MAX/MIN, whichever type the backend returned it as.
int64_t CentsOf(const Value& value) {
  if (std::holds_alternative<int64_t>(value)) return std::get<int64_t>(value);
  if (std::holds_alternative<double>(value))
    return static_cast<int64_t>(std::llround(std::get<double>(value)));
  if (std::holds_alternative<std::string>(value)) {
    const std::string& text = std::get<std::string>(value);
    if (auto integer = ParseInt(text)) return *integer;
    return static_cast<int64_t>(std::llround(std::strtod(text.c_str(), nullptr)));
  }
  return 0;
}

bool IsNull(const Value& value) { return std::holds_alternative<std::monostate>(value); }

Value Dollars(int64_t cents) { return Value(static_cast<double>(cents) / 100.0); }

// An aggregate's value as answered: sums and extremes in dollars, an empty
// sum or count 0, an empty extreme null.
Value AggregateValue(const CubeAggregate& aggregate, const Value& value) {
  switch (aggregate.function) {
    case AggregateFunction::kSum:
      return Dollars(IsNull(value) ? 0 : CentsOf(value));
    case AggregateFunction::kCount:
      return Value(IsNull(value) ? int64_t{0} : CentsOf(value));
    case AggregateFunction::kMax:
    case AggregateFunction::kMin:
      return IsNull(value) ? Value() : Dollars(CentsOf(value));
  }
  return Value();
}

constexpr char kNoModelResults[] = "no model results yet; run citybooks model";

std::string Direction(bool descending) { return descending ? "desc" : "asc"; }

json RowObject(const QueryResult& result, size_t row) {
  json object = json::object();
  for (size_t c = 0; c < result.columns.size(); ++c)
    object[result.columns[c]] = ValueJson(result.rows[row][c]);
  return object;
}

Table ResultTable(QueryResult&& result) {
  Table table;
  table.columns = std::move(result.columns);
  table.rows = std::move(result.rows);
  return table;
}

// The cut as babbage echoes it in "cell".
json CellJson(const Cut& cut) {
  json values = json::array();
  for (const CutValue& value : cut.values) {
    switch (value.kind) {
      case CutValue::Kind::kText:
        values.push_back(value.text);
        break;
      case CutValue::Kind::kInteger:
        values.push_back(value.integer);
        break;
      case CutValue::Kind::kRange:
        values.push_back(json{{"from", value.integer}, {"to", value.upper}});
        break;
    }
  }
  json cell = json::object();
  cell["operator"] = ":";
  cell["ref"] = cut.attribute->ref;
  if (cut.values.size() == 1 && cut.values[0].kind != CutValue::Kind::kRange) {
    cell["value"] = values[0];
  } else {
    std::string text;
    for (const CutValue& value : cut.values) text += (text.empty() ? "" : ";") + value.text;
    cell["value"] = text;
  }
  cell["values"] = std::move(values);
  return cell;
}

void AddPaging(json& body, const Paging& paging) {
  body["page"] = paging.page;
  body["pagesize"] = paging.pagesize;
}

// Aggregates named by `aggregates` (all of the cube's when absent or empty).
ApiResult<std::vector<const CubeAggregate*>> SelectAggregates(
    const Cube& cube, const QueryParams& params, std::vector<const CubeAggregate*> fallback) {
  auto text = params.Get("aggregates");
  if (!text || Trim(*text).empty()) return fallback;
  CB_API_ASSIGN_OR_RETURN(std::vector<std::string> refs, ParseRefList(*text, "aggregates"));
  std::vector<const CubeAggregate*> aggregates;
  for (const std::string& ref : refs) {
    const CubeAggregate* aggregate = cube.FindAggregate(ref);
    if (aggregate == nullptr)
      return ApiFail("aggregates", ref + " is not an aggregate of " + cube.dataset() +
                                       "; known: " + cube.AggregateRefList());
    aggregates.push_back(aggregate);
  }
  return aggregates;
}

// Checks `order` against drilldown refs and aggregates; aggregates it needs
// that are not computed yet are appended to `computed`.
ApiResult<std::vector<OrderKey>> CheckOrder(const Cube& cube, const QueryParams& params,
                                            const std::vector<const CubeAttribute*>& drilldowns,
                                            std::vector<const CubeAggregate*>* computed) {
  CB_API_ASSIGN_OR_RETURN(std::vector<OrderKey> order, ParseOrder(params.GetOr("order", "")));
  for (OrderKey& key : order) {
    const CubeAttribute* attribute = cube.FindAttribute(key.ref);
    if (attribute != nullptr &&
        std::find(drilldowns.begin(), drilldowns.end(), attribute) != drilldowns.end()) {
      key.ref = attribute->ref;
      continue;
    }
    if (const CubeAggregate* aggregate = cube.FindAggregate(key.ref)) {
      if (std::find(computed->begin(), computed->end(), aggregate) == computed->end())
        computed->push_back(aggregate);
      continue;
    }
    std::string allowed;
    for (const CubeAttribute* drilldown : drilldowns) allowed += drilldown->ref + ", ";
    return ApiFail("order", key.ref + " cannot order this answer; order by " + allowed +
                                "or an aggregate (" + cube.AggregateRefList() + ")");
  }
  return order;
}

const std::map<std::string, std::vector<OrderKey>>& DefaultModelOrder() {
  static const std::map<std::string, std::vector<OrderKey>> orders = {
      {"benford", {{"group_kind", false}, {"group_name", false}, {"test", false}}},
      {"benford_digits",
       {{"group_kind", false}, {"group_name", false}, {"test", false}, {"digit", false}}},
      {"duplicate_payments", {{"score", true}, {"pair", false}}},
      {"outliers", {{"rank", false}, {"robust_z", true}}},
      {"forecast", {{"department", false}, {"fiscal_year", false}}},
      {"forecast_series", {{"department", false}, {"period", false}}},
  };
  return orders;
}

}  // namespace

json ValueJson(const Value& value) {
  if (std::holds_alternative<int64_t>(value)) return std::get<int64_t>(value);
  if (std::holds_alternative<double>(value)) return std::get<double>(value);
  if (std::holds_alternative<std::string>(value)) return std::get<std::string>(value);
  return nullptr;
}

std::string AnswerJson(const ApiAnswer& answer) {
  std::string rest = answer.body.is_object()
                         ? answer.body.dump(-1, ' ', false, json::error_handler_t::replace)
                         : std::string("{}");
  if (answer.rows_key.empty()) return rest;
  std::string text = "{";
  AppendJsonString(&text, answer.rows_key);
  text += ':';
  AppendRowsJson(&text, answer.table, answer.rows_as_objects);
  if (rest.size() > 2) {
    text += ',';
    text.append(rest, 1, std::string::npos);
  } else {
    text += '}';
  }
  return text;
}

const std::vector<std::string>& ModelNames() {
  static const std::vector<std::string> names = {"benford",  "benford_digits", "duplicate_payments",
                                                 "outliers", "forecast",       "forecast_series"};
  return names;
}

Result<std::unique_ptr<Api>> Api::Make(const Config& config, WarehousePool* pool) {
  std::unique_ptr<Api> api(new Api(pool));
  for (const auto& [name, dataset] : config.datasets) {
    auto mapping = LoadMapping(dataset.mapping);
    if (!mapping) {
      LogWarning(name + ": " + mapping.error().message() + "; not served");
      continue;
    }
    auto cube = Cube::Make(name, std::move(*mapping));
    if (!cube) {
      LogWarning(name + ": " + cube.error().message() + "; not served");
      continue;
    }
    api->cubes_.push_back(std::move(*cube));
  }
  return api;
}

ApiResult<const Cube*> Api::FindCube(const std::string& dataset,
                                     const std::string& parameter) const {
  if (!IsPathName(dataset))
    return ApiFail(parameter, "\"" + SanitizeText(dataset, 60, true) +
                                  "\" is not a dataset name; names are lower-case letters, "
                                  "digits and '-', e.g. sf-spending-revenue");
  std::string known;
  for (const Cube& cube : cubes_) {
    if (cube.dataset() == dataset || cube.schema() == dataset) return &cube;
    known += (known.empty() ? "" : ", ") + cube.dataset();
  }
  return ApiFail(parameter, "there is no dataset named " + dataset + "; known: " + known, 404);
}

ApiResult<WarehousePool::Lease> Api::Lease() {
  auto lease = pool_->Acquire();
  if (!lease) {
    if (lease.error().code() == ErrorCode::kNotFound)
      return ApiFail("dataset", lease.error().message(), 404);
    return std::unexpected(Internal(lease.error()));
  }
  return std::move(*lease);
}

bool Api::MaybeRefresh(const std::vector<const Cube*>& cubes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (last_refresh_ != std::chrono::steady_clock::time_point{} &&
        now - last_refresh_ < std::chrono::seconds(2))
      return false;
    last_refresh_ = now;
  }
  auto fresh = pool_->OpenUnpooled();
  if (!fresh) return false;
  for (const Cube* cube : cubes) {
    auto has = (*fresh)->HasSchema(cube->schema());
    if (has && *has) {
      pool_->Refresh();
      return true;
    }
  }
  return false;
}

Api::DatasetState Api::State(WarehousePool::Lease& lease, const Cube& cube) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (lease.generation() == states_generation_) {
      auto it = states_.find(cube.dataset());
      if (it != states_.end()) return it->second;
    }
  }
  DatasetState state;
  auto has = lease->HasSchema(cube.schema());
  state.has_schema = has && *has;
  if (state.has_schema) {
    for (const AggregateSpec& spec : cube.mapping().aggregates) {
      if (spec.histogram || !spec.filter_column.empty() || !spec.contains_column.empty()) continue;
      auto rows = lease->Query("SELECT COUNT(*) FROM " + TableName(cube, spec.table()));
      if (rows) state.aggregates.push_back({&spec, rows->IntAt()});
    }
    auto probe = lease->Query("SELECT * FROM " + TableName(cube, cube.mapping().fact_table) +
                              " WHERE 1 = 0");
    if (probe)
      state.fact_id = std::find(probe->columns.begin(), probe->columns.end(), "fact_id") !=
                      probe->columns.end();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (lease.generation() > states_generation_) {
    states_.clear();
    states_generation_ = lease.generation();
  }
  if (lease.generation() == states_generation_) states_[cube.dataset()] = state;
  return state;
}

ApiResult<Api::Context> Api::Open(const std::string& dataset, const std::string& parameter) {
  Context context;
  CB_API_ASSIGN_OR_RETURN(context.cube, FindCube(dataset, parameter));
  for (int attempt = 0; attempt < 2; ++attempt) {
    CB_API_ASSIGN_OR_RETURN(WarehousePool::Lease lease, Lease());
    context.lease.emplace(std::move(lease));
    context.state = State(*context.lease, *context.cube);
    if (context.state.has_schema) return context;
    context.lease.reset();
    if (!MaybeRefresh({context.cube})) break;
  }
  return ApiFail(parameter,
                 "dataset " + dataset + " has no data in the warehouse yet; run `citybooks load " +
                     dataset + "`",
                 404);
}

ApiStatus Api::CheckMembers(Warehouse& warehouse, const Cube& cube, const std::vector<Cut>& cuts) {
  for (const Cut& cut : cuts) {
    const CubeAttribute& attribute = *cut.attribute;
    if (attribute.is_time()) continue;
    const DimensionSpec& dimension =
        cube.mapping().dimensions[static_cast<size_t>(attribute.dimension_index)];
    std::string column = QuoteIdentifier(attribute.column);
    std::string in;
    std::vector<Value> values;
    for (const CutValue& value : cut.values) {
      in += in.empty() ? "?" : ", ?";
      values.emplace_back(value.text);
    }
    BoundSql sql{"SELECT DISTINCT " + column + " FROM " + TableName(cube, dimension.table()) +
                     " WHERE " + column + " IN (" + in + ")",
                 values};
    auto found = warehouse.Query(sql.sql, sql.Cells());
    if (!found) return std::unexpected(Internal(found.error()));
    std::set<std::string> members;
    for (const auto& row : found->rows) members.insert(ValueToString(row[0]));
    for (const CutValue& value : cut.values)
      if (!members.count(value.text))
        return ApiFail("cut", attribute.ref + " has no member \"" +
                                  SanitizeText(value.text, 80, true) +
                                  "\"; list them with /api/cubes/" + cube.dataset() + "/members/" +
                                  attribute.dimension + "?attribute=" + attribute.name);
  }
  return {};
}

ApiResult<ApiAnswer> Api::Datasets() {
  ApiAnswer answer;
  json datasets = json::array();
  std::optional<WarehousePool::Lease> lease;
  std::vector<std::pair<const Cube*, DatasetState>> loaded;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto leased = pool_->Acquire();
    if (!leased) {
      if (leased.error().code() == ErrorCode::kNotFound) break;  // nothing loaded yet
      return std::unexpected(Internal(leased.error()));
    }
    lease.emplace(std::move(*leased));
    loaded.clear();
    std::vector<const Cube*> missing;
    for (const Cube& cube : cubes_) {
      DatasetState state = State(*lease, cube);
      if (state.has_schema) {
        loaded.emplace_back(&cube, state);
      } else {
        missing.push_back(&cube);
      }
    }
    // A dataset loaded since these connections opened needs fresh ones.
    if (missing.empty() || attempt == 1 || !MaybeRefresh(missing)) break;
    lease.reset();
  }
  for (const auto& [cube, state] : loaded) {
    Warehouse& warehouse = **lease;
    json entry = json::object();
    entry["name"] = cube->dataset();
    entry["schema"] = cube->schema();
    entry["fact_table"] = cube->mapping().fact_table;
    std::vector<const AggregateSpec*> smallest =
        CoveringAggregates(cube->mapping(), {}, state.aggregates);
    std::string totals_sql = smallest.empty()
                                 ? "SELECT COUNT(*), SUM(amount_cents) FROM " +
                                       TableName(*cube, cube->mapping().fact_table)
                                 : "SELECT SUM(transactions), SUM(amount_cents) FROM " +
                                       TableName(*cube, smallest.front()->table());
    auto totals = warehouse.Query(totals_sql);
    if (!totals) return std::unexpected(Internal(totals.error()));
    entry["facts"] = totals->IntAt(0, 0);
    entry["amount"] = ValueJson(Dollars(totals->rows.empty() ? 0 : CentsOf(totals->rows[0][1])));
    auto partitions = warehouse.Query("SELECT partition_value FROM " +
                                      TableName(*cube, "cb_partitions") + " ORDER BY 1");
    std::vector<int64_t> values;
    if (partitions)
      for (size_t r = 0; r < partitions->rows.size(); ++r) values.push_back(partitions->IntAt(r));
    entry["partitions"] = PartitionsText(values, 1);
    auto run = warehouse.Query("SELECT * FROM " + TableName(*cube, "cb_runs") +
                               " ORDER BY run_id DESC LIMIT 1");
    entry["last_run"] = run && !run->rows.empty() ? RowObject(*run, 0) : json(nullptr);
    json views = json::array();
    for (const ViewSpec& view : cube->mapping().views) views.push_back(view.name);
    entry["views"] = std::move(views);
    json pages = json::array();
    if (!cube->mapping().views.empty()) pages.push_back("overview");
    pages.push_back("explorer");
    for (const DimensionSpec& dimension : cube->mapping().dimensions)
      if (dimension.key_rule == KeyRule::kVendorName) {
        pages.push_back("vendors");
        break;
      }
    for (const char* page : {"models", "quality", "runs", "sql"}) pages.push_back(page);
    entry["pages"] = std::move(pages);
    datasets.push_back(std::move(entry));
  }
  answer.body = json::object();
  answer.body["datasets"] = std::move(datasets);
  return answer;
}

ApiResult<Api::Cells> Api::RunAggregate(Warehouse& warehouse, const AggregatePlan& plan,
                                        const AggregateQuery& query) {
  Cells cells;
  size_t aggregates = query.aggregates.size();
  size_t drilldowns = query.drilldowns.size();
  if (plan.source_rows >= 0 && plan.source_rows <= kInMemoryCells) {
    auto all = warehouse.Query(plan.grouped.sql, plan.grouped.Cells());
    if (!all) return std::unexpected(Internal(all.error()));
    std::vector<std::vector<Value>>& rows = all->rows;
    cells.total = static_cast<int64_t>(rows.size());
    cells.totals.assign(aggregates, Value());
    for (size_t j = 0; j < aggregates; ++j) {
      AggregateFunction function = query.aggregates[j]->function;
      for (const std::vector<Value>& row : rows) {
        const Value& value = row[drilldowns + j];
        if (IsNull(value)) continue;
        Value& total = cells.totals[j];
        int64_t cents = CentsOf(value);
        if (IsNull(total)) {
          total = Value(cents);
        } else if (function == AggregateFunction::kSum || function == AggregateFunction::kCount) {
          total = Value(std::get<int64_t>(total) + cents);
        } else if (function == AggregateFunction::kMax) {
          total = Value(std::max(std::get<int64_t>(total), cents));
        } else {
          total = Value(std::min(std::get<int64_t>(total), cents));
        }
      }
    }
    SortCells(&rows, plan.sort_keys);
    int64_t begin = std::min<int64_t>(query.paging.offset(), cells.total);
    int64_t end = std::min<int64_t>(begin + query.paging.pagesize, cells.total);
    cells.page.assign(std::make_move_iterator(rows.begin() + begin),
                      std::make_move_iterator(rows.begin() + end));
    return cells;
  }
  auto page = warehouse.Query(plan.cells.sql, plan.cells.Cells());
  if (!page) return std::unexpected(Internal(page.error()));
  auto summary = warehouse.Query(plan.summary.sql, plan.summary.Cells());
  if (!summary) return std::unexpected(Internal(summary.error()));
  cells.page = std::move(page->rows);
  cells.total = summary->IntAt(0, 0);
  cells.totals.assign(aggregates, Value());
  if (!summary->rows.empty())
    for (size_t j = 0; j < aggregates; ++j) cells.totals[j] = summary->rows[0][1 + j];
  return cells;
}

ApiResult<std::string> Api::DataVersion(const std::string& dataset) {
  CB_API_ASSIGN_OR_RETURN(Context context, Open(dataset));
  auto run = (*context.lease)
                 ->Query("SELECT run_id, snapshot_id, status, finished_at FROM " +
                         TableName(*context.cube, "cb_runs") + " ORDER BY run_id DESC LIMIT 1");
  if (!run) return std::unexpected(Internal(run.error()));
  std::string version = std::to_string(context.lease->generation());
  for (const auto& row : run->rows)
    for (const Value& value : row) version += "|" + ValueToString(value);
  return version;
}

ApiResult<ApiAnswer> Api::Model(const std::string& dataset) {
  CB_API_ASSIGN_OR_RETURN(const Cube* cube, FindCube(dataset, "dataset"));
  ApiAnswer answer;
  answer.body = json::object();
  answer.body["name"] = cube->dataset();
  answer.body["model"] = cube->ModelJson();
  return answer;
}

ApiResult<Api::Cells> Api::AnswerAggregate(Context& context, const QueryParams& params,
                                           const std::vector<const CubeAggregate*>& offered,
                                           AggregateQuery* query,
                                           std::vector<const CubeAggregate*>* shown) {
  const Cube& cube = *context.cube;
  CB_API_ASSIGN_OR_RETURN(std::vector<RawCut> raw, ParseCuts(params.GetOr("cut", "")));
  CB_API_ASSIGN_OR_RETURN(query->cuts, ResolveCuts(cube, raw));
  CB_API_ASSIGN_OR_RETURN(*shown, SelectAggregates(cube, params, offered));
  query->aggregates = *shown;
  CB_API_ASSIGN_OR_RETURN(query->order,
                          CheckOrder(cube, params, query->drilldowns, &query->aggregates));
  CB_API_ASSIGN_OR_RETURN(query->paging, ParsePaging(params));
  CB_API_RETURN_IF_ERROR(CheckMembers(**context.lease, cube, query->cuts));
  AggregatePlan plan = PlanAggregate(cube, *query, context.state.aggregates);
  CB_API_ASSIGN_OR_RETURN(Cells cells, RunAggregate(**context.lease, plan, *query));
  cells.source = plan.source;
  return cells;
}

ApiResult<ApiAnswer> Api::Aggregate(const std::string& dataset, const QueryParams& params) {
  CB_API_ASSIGN_OR_RETURN(Context context, Open(dataset));
  const Cube& cube = *context.cube;
  AggregateQuery query;
  CB_API_ASSIGN_OR_RETURN(std::vector<std::string> refs,
                          ParseRefList(params.GetOr("drilldown", ""), "drilldown"));
  CB_API_ASSIGN_OR_RETURN(query.drilldowns, ResolveAttributes(cube, refs, "drilldown"));
  std::vector<const CubeAggregate*> all;
  for (const CubeAggregate& aggregate : cube.aggregates()) all.push_back(&aggregate);
  std::vector<const CubeAggregate*> shown;
  CB_API_ASSIGN_OR_RETURN(Cells cells, AnswerAggregate(context, params, all, &query, &shown));

  ApiAnswer answer;
  size_t drilldowns = query.drilldowns.size();
  for (const CubeAttribute* attribute : query.drilldowns)
    answer.table.columns.push_back(attribute->ref);
  for (const CubeAggregate* aggregate : shown) answer.table.columns.push_back(aggregate->ref);
  answer.table.rows.reserve(cells.page.size());
  for (std::vector<Value>& row : cells.page) {
    std::vector<Value> out;
    out.reserve(answer.table.columns.size());
    for (size_t i = 0; i < drilldowns; ++i) out.push_back(std::move(row[i]));
    for (size_t j = 0; j < shown.size(); ++j)
      out.push_back(AggregateValue(*shown[j], row[drilldowns + j]));
    answer.table.rows.push_back(std::move(out));
  }
  json summary_json = json::object();
  for (size_t j = 0; j < shown.size(); ++j)
    summary_json[shown[j]->ref] = ValueJson(AggregateValue(*shown[j], cells.totals[j]));

  answer.rows_key = "cells";
  json& body = answer.body = json::object();
  body["summary"] = std::move(summary_json);
  body["total_cell_count"] = cells.total;
  AddPaging(body, query.paging);
  json order = json::array();
  for (const OrderKey& key : query.order) order.push_back(json{key.ref, Direction(key.descending)});
  if (query.order.empty())
    for (const CubeAttribute* attribute : query.drilldowns)
      order.push_back(json{attribute->ref, "asc"});
  body["order"] = std::move(order);
  json cell = json::array();
  for (const Cut& cut : query.cuts) cell.push_back(CellJson(cut));
  body["cell"] = std::move(cell);
  json attributes = json::array();
  for (const CubeAttribute* attribute : query.drilldowns) attributes.push_back(attribute->ref);
  body["attributes"] = std::move(attributes);
  json aggregates = json::array();
  for (const CubeAggregate* aggregate : shown) aggregates.push_back(aggregate->ref);
  body["aggregates"] = std::move(aggregates);
  body["source"] = cells.source;
  answer.csv_name = cube.dataset() + "-aggregate.csv";
  return answer;
}

ApiResult<ApiAnswer> Api::Facts(const std::string& dataset, const QueryParams& params) {
  CB_API_ASSIGN_OR_RETURN(Context context, Open(dataset));
  const Cube& cube = *context.cube;
  FactsQuery query;
  std::vector<std::string> names;  // output keys in order
  if (auto fields = params.Get("fields"); fields && !Trim(*fields).empty()) {
    CB_API_ASSIGN_OR_RETURN(std::vector<std::string> refs, ParseRefList(*fields, "fields"));
    query.amount = false;
    for (const std::string& ref : refs) {
      if (ref == "amount" || ref == "amount_cents") {
        query.amount = true;
      } else if (ref == "fact_id" && context.state.fact_id) {
        query.fact_id = true;
      } else if (const CubeAttribute* attribute = cube.FindAttribute(ref)) {
        if (std::find(query.fields.begin(), query.fields.end(), attribute) == query.fields.end())
          query.fields.push_back(attribute);
      } else {
        return ApiFail("fields", "the cube " + cube.dataset() + " has no field \"" +
                                     SanitizeText(ref, 60, true) +
                                     "\"; fields are attribute refs, amount" +
                                     std::string(context.state.fact_id ? ", fact_id" : "") +
                                     " (known refs: " + cube.AttributeRefList() + ")");
      }
    }
  } else {
    for (const CubeAttribute& attribute : cube.attributes()) query.fields.push_back(&attribute);
    query.fact_id = context.state.fact_id;
  }
  for (const CubeAttribute* attribute : query.fields) names.push_back(attribute->ref);
  if (query.amount) {
    names.push_back("amount");
    names.push_back("amount_cents");
  }
  if (query.fact_id) names.push_back("fact_id");

  CB_API_ASSIGN_OR_RETURN(std::vector<RawCut> raw, ParseCuts(params.GetOr("cut", "")));
  CB_API_ASSIGN_OR_RETURN(query.cuts, ResolveCuts(cube, raw));
  CB_API_ASSIGN_OR_RETURN(query.order, ParseOrder(params.GetOr("order", "")));
  for (OrderKey& key : query.order) {
    if (const CubeAttribute* attribute = cube.FindAttribute(key.ref)) key.ref = attribute->ref;
    if (std::find(names.begin(), names.end(), key.ref) == names.end())
      return ApiFail("order", key.ref + " is not one of the fields of this answer (" +
                                  Join(names, ", ") + ")");
  }
  CB_API_ASSIGN_OR_RETURN(query.paging, ParsePaging(params));
  CB_API_RETURN_IF_ERROR(CheckMembers(**context.lease, cube, query.cuts));

  FactsPlan plan = PlanFacts(cube, query);
  Warehouse& warehouse = **context.lease;
  auto rows = warehouse.Query(plan.rows.sql, plan.rows.Cells());
  if (!rows) return std::unexpected(Internal(rows.error()));
  auto count = warehouse.Query(plan.count.sql, plan.count.Cells());
  if (!count) return std::unexpected(Internal(count.error()));

  ApiAnswer answer;
  answer.table.columns = names;
  size_t fields = query.fields.size();
  for (std::vector<Value>& row : rows->rows) {
    std::vector<Value> cells;
    cells.reserve(names.size());
    for (size_t i = 0; i < fields; ++i) cells.push_back(std::move(row[i]));
    size_t next = fields;
    if (query.amount) {
      cells.push_back(Dollars(CentsOf(row[next])));
      cells.push_back(std::move(row[next]));
      ++next;
    }
    if (query.fact_id) cells.push_back(std::move(row[next]));
    answer.table.rows.push_back(std::move(cells));
  }
  answer.rows_key = "data";
  json& body = answer.body = json::object();
  body["total_fact_count"] = count->IntAt();
  AddPaging(body, query.paging);
  body["fields"] = names;
  json order = json::array();
  for (const OrderKey& key : query.order) order.push_back(json{key.ref, Direction(key.descending)});
  body["order"] = std::move(order);
  json cell = json::array();
  for (const Cut& cut : query.cuts) cell.push_back(CellJson(cut));
  body["cell"] = std::move(cell);
  answer.csv_name = cube.dataset() + "-facts.csv";
  return answer;
}

ApiResult<ApiAnswer> Api::Members(const std::string& dataset, const std::string& dimension_name,
                                  const QueryParams& params) {
  CB_API_ASSIGN_OR_RETURN(Context context, Open(dataset));
  const Cube& cube = *context.cube;
  if (!IsPathName(dimension_name))
    return ApiFail("dimension",
                   "\"" + SanitizeText(dimension_name, 60, true) + "\" is not a dimension name");
  const CubeDimension* dimension = cube.FindDimension(dimension_name);
  if (dimension == nullptr) {
    std::string known;
    for (const CubeDimension& d : cube.dimensions()) known += (known.empty() ? "" : ", ") + d.name;
    return ApiFail(
        "dimension",
        "the cube " + cube.dataset() + " has no dimension " + dimension_name + "; known: " + known,
        404);
  }
  const CubeAttribute* attribute = &cube.attributes()[dimension->attributes.front()];
  if (auto text = params.Get("attribute"); text && !Trim(*text).empty()) {
    std::string wanted(Trim(*text));
    attribute = nullptr;
    std::string known;
    for (size_t index : dimension->attributes) {
      const CubeAttribute& candidate = cube.attributes()[index];
      if (candidate.name == wanted || candidate.ref == wanted) attribute = &candidate;
      known += (known.empty() ? "" : ", ") + candidate.name;
    }
    if (attribute == nullptr)
      return ApiFail("attribute", "the dimension " + dimension->name + " has no attribute \"" +
                                      SanitizeText(wanted, 60, true) + "\"; known: " + known);
  }
  AggregateQuery query;
  query.drilldowns = {attribute};
  if (auto q = params.Get("q"); q && !Trim(*q).empty()) {
    if (attribute->integer)
      return ApiFail("q", attribute->ref + " holds numbers; q searches text attributes");
    if (q->size() > kMaxValueBytes)
      return ApiFail("q", "q is " + std::to_string(q->size()) + " bytes long; at most " +
                              std::to_string(kMaxValueBytes) + " are accepted");
    query.search = {attribute, std::string(Trim(*q))};
  }
  std::vector<const CubeAggregate*> shown;
  CB_API_ASSIGN_OR_RETURN(
      Cells cells, AnswerAggregate(context, params,
                                   {cube.FindAggregate("amount.sum"), cube.FindAggregate("_count")},
                                   &query, &shown));
  Warehouse& warehouse = **context.lease;

  // The code and key of each member on this page, from the dimension table
  // (the smallest when one name has several).
  std::vector<std::string> companions;
  for (const std::string& column : {attribute->code_column, attribute->key_column})
    if (!column.empty()) companions.push_back(column);
  std::map<std::string, std::vector<Value>> companion_values;
  if (!companions.empty() && !cells.page.empty()) {
    const DimensionSpec& spec =
        cube.mapping().dimensions[static_cast<size_t>(attribute->dimension_index)];
    std::string column = QuoteIdentifier(attribute->column);
    BoundSql sql;
    sql.sql = "SELECT " + column;
    for (const std::string& companion : companions)
      sql.sql += ", MIN(" + QuoteIdentifier(companion) + ")";
    std::string in;
    for (const auto& row : cells.page) {
      in += in.empty() ? "?" : ", ?";
      sql.params.push_back(row[0]);
    }
    sql.sql += " FROM " + TableName(cube, spec.table()) + " WHERE " + column + " IN (" + in +
               ") GROUP BY " + column;
    auto found = warehouse.Query(sql.sql, sql.Cells());
    if (!found) return std::unexpected(Internal(found.error()));
    for (const auto& row : found->rows)
      companion_values[ValueToString(row[0])] = std::vector<Value>(row.begin() + 1, row.end());
  }

  ApiAnswer answer;
  answer.table.columns.push_back(attribute->ref);
  for (const std::string& companion : companions)
    answer.table.columns.push_back(attribute->dimension + "." + companion);
  for (const CubeAggregate* aggregate : shown) answer.table.columns.push_back(aggregate->ref);
  for (std::vector<Value>& row : cells.page) {
    std::vector<Value> out;
    auto it = companion_values.find(ValueToString(row[0]));
    out.push_back(std::move(row[0]));
    for (size_t k = 0; k < companions.size(); ++k)
      out.push_back(it == companion_values.end() ? Value() : it->second[k]);
    for (size_t j = 0; j < shown.size(); ++j) out.push_back(AggregateValue(*shown[j], row[1 + j]));
    answer.table.rows.push_back(std::move(out));
  }
  answer.rows_key = "data";
  json& body = answer.body = json::object();
  body["total_member_count"] = cells.total;
  AddPaging(body, query.paging);
  body["attribute"] = attribute->ref;
  json order = json::array();
  for (const OrderKey& key : query.order) order.push_back(json{key.ref, Direction(key.descending)});
  if (query.order.empty()) order.push_back(json{attribute->ref, "asc"});
  body["order"] = std::move(order);
  json cell = json::array();
  for (const Cut& cut : query.cuts) cell.push_back(CellJson(cut));
  body["cell"] = std::move(cell);
  body["source"] = cells.source;
  answer.csv_name = cube.dataset() + "-members-" + dimension->name + ".csv";
  return answer;
}

ApiResult<ApiAnswer> Api::Views(const std::string& dataset) {
  CB_API_ASSIGN_OR_RETURN(const Cube* cube, FindCube(dataset, "dataset"));
  json views = json::array();
  for (const ViewSpec& view : cube->mapping().views)
    views.push_back(json{{"name", view.name}, {"title", view.title}, {"chart", view.chart}});
  ApiAnswer answer;
  answer.body = json::object();
  answer.body["views"] = std::move(views);
  return answer;
}

ApiResult<ApiAnswer> Api::View(const std::string& dataset, const std::string& name) {
  CB_API_ASSIGN_OR_RETURN(Context context, Open(dataset));
  const Cube& cube = *context.cube;
  const ViewSpec* view = nullptr;
  std::string known;
  for (const ViewSpec& candidate : cube.mapping().views) {
    if (candidate.name == name) view = &candidate;
    known += (known.empty() ? "" : ", ") + candidate.name;
  }
  if (view == nullptr) {
    if (!IsPathName(name))
      return ApiFail("view", "\"" + SanitizeText(name, 60, true) + "\" is not a view name");
    return ApiFail("view",
                   "the dataset " + cube.dataset() + " has no view " + name + "; known: " + known,
                   404);
  }
  auto result = (*context.lease)->Query(view->Sql(cube.schema()));
  if (!result) return std::unexpected(Internal(result.error()));
  ApiAnswer answer;
  answer.table = ResultTable(std::move(*result));
  answer.rows_key = "rows";
  answer.rows_as_objects = false;
  json& body = answer.body = json::object();
  body["name"] = view->name;
  body["title"] = view->title;
  body["chart"] = view->chart;
  body["columns"] = answer.table.columns;
  answer.csv_name = cube.dataset() + "-" + view->name + ".csv";
  return answer;
}

ApiResult<ApiAnswer> Api::ModelResults(const std::string& name, const QueryParams& params) {
  const std::vector<std::string>& names = ModelNames();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    if (!IsPathName(name))
      return ApiFail("model", "\"" + SanitizeText(name, 60, true) +
                                  "\" is not a model name; models: " + Join(names, ", "));
    return ApiFail("model", "there is no model " + name + "; models: " + Join(names, ", "), 404);
  }
  std::string dataset;
  if (auto given = params.Get("dataset"); given && !Trim(*given).empty()) {
    dataset = std::string(Trim(*given));
  } else if (cubes_.size() == 1) {
    dataset = cubes_.front().dataset();
  } else {
    std::string known;
    for (const Cube& cube : cubes_) known += (known.empty() ? "" : ", ") + cube.dataset();
    return ApiFail("dataset", "name the dataset, e.g. ?dataset=" +
                                  (cubes_.empty() ? std::string("sf-spending-revenue")
                                                  : cubes_.front().dataset()) +
                                  " (known: " + known + ")");
  }
  CB_API_ASSIGN_OR_RETURN(Context context, Open(dataset));
  const Cube& cube = *context.cube;
  Warehouse& warehouse = **context.lease;
  std::string table = TableName(cube, "model_" + name);
  CB_API_ASSIGN_OR_RETURN(std::vector<RawCut> raw, ParseCuts(params.GetOr("cut", "")));
  CB_API_ASSIGN_OR_RETURN(std::vector<OrderKey> order, ParseOrder(params.GetOr("order", "")));
  CB_API_ASSIGN_OR_RETURN(Paging paging, ParsePaging(params));

  ApiAnswer answer;
  answer.csv_name = cube.dataset() + "-model-" + name + ".csv";
  json& body = answer.body = json::object();
  auto probe = warehouse.Query("SELECT * FROM " + table + " WHERE 1 = 0");
  if (!probe) {
    body["columns"] = json::array();
    body["data"] = json::array();
    body["total"] = 0;
    AddPaging(body, paging);
    body["note"] = kNoModelResults;
    return answer;
  }
  const std::vector<std::string>& columns = probe->columns;
  auto known = [&columns](const std::string& column) {
    return std::find(columns.begin(), columns.end(), column) != columns.end();
  };
  std::vector<Value> params_values;
  std::vector<std::string> conditions;
  bool run_cut = false;
  for (const RawCut& cut : raw) {
    if (!known(cut.ref))
      return ApiFail("cut", "model_" + name + " has no column \"" +
                                SanitizeText(cut.ref, 60, true) +
                                "\"; columns: " + Join(columns, ", "));
    run_cut = run_cut || cut.ref == "run_id";
    conditions.push_back(
        CutCondition(QuoteIdentifier(cut.ref), TypeValuesLoosely(cut.values), &params_values));
  }
  // Only the latest run's results unless a run is asked for.
  if (!run_cut && known("run_id"))
    conditions.push_back("run_id = (SELECT MAX(run_id) FROM " + table + ")");
  std::string where;
  for (size_t i = 0; i < conditions.size(); ++i) where += (i ? " AND " : " WHERE ") + conditions[i];
  std::string order_sql;
  std::set<std::string> ordered;
  auto add_order = [&](const std::string& column, bool descending) {
    if (!ordered.insert(column).second) return;
    order_sql += (order_sql.empty() ? " ORDER BY " : ", ") + QuoteIdentifier(column) +
                 (descending ? " DESC" : " ASC");
  };
  for (const OrderKey& key : order) {
    if (!known(key.ref))
      return ApiFail("order", "model_" + name + " has no column \"" +
                                  SanitizeText(key.ref, 60, true) +
                                  "\"; columns: " + Join(columns, ", "));
    add_order(key.ref, key.descending);
  }
  for (const OrderKey& key : DefaultModelOrder().at(name))
    if (known(key.ref)) add_order(key.ref, key.descending);
  for (const std::string& column : columns) add_order(column, false);

  BoundSql count{"SELECT COUNT(*) FROM " + table + where, params_values};
  BoundSql rows{"SELECT * FROM " + table + where + order_sql + " LIMIT ? OFFSET ?", params_values};
  rows.params.emplace_back(paging.pagesize);
  rows.params.emplace_back(paging.offset());
  auto total = warehouse.Query(count.sql, count.Cells());
  if (!total) return std::unexpected(Internal(total.error()));
  auto result = warehouse.Query(rows.sql, rows.Cells());
  if (!result) return std::unexpected(Internal(result.error()));
  answer.table = ResultTable(std::move(*result));
  answer.rows_key = "data";
  body["columns"] = answer.table.columns;
  body["total"] = total->IntAt();
  AddPaging(body, paging);
  body["dataset"] = cube.dataset();
  if (total->IntAt() == 0 && raw.empty()) body["note"] = kNoModelResults;
  return answer;
}

ApiResult<std::vector<const Cube*>> Api::SelectDatasets(
    const QueryParams& params, std::optional<WarehousePool::Lease>& lease) {
  std::vector<const Cube*> selected;
  if (auto given = params.Get("dataset"); given && !Trim(*given).empty()) {
    CB_API_ASSIGN_OR_RETURN(Context context, Open(std::string(Trim(*given))));
    lease.emplace(std::move(*context.lease));
    selected.push_back(context.cube);
    return selected;
  }
  auto leased = pool_->Acquire();
  if (!leased) {
    if (leased.error().code() == ErrorCode::kNotFound) return selected;
    return std::unexpected(Internal(leased.error()));
  }
  lease.emplace(std::move(*leased));
  for (const Cube& cube : cubes_)
    if (State(*lease, cube).has_schema) selected.push_back(&cube);
  return selected;
}

ApiResult<ApiAnswer> Api::Records(const std::string& table, const QueryParams& params) {
  std::optional<WarehousePool::Lease> lease;
  CB_API_ASSIGN_OR_RETURN(std::vector<const Cube*> cubes, SelectDatasets(params, lease));
  CB_API_ASSIGN_OR_RETURN(Paging paging, ParsePaging(params));
  bool quality = table == "cb_quality";
  ApiAnswer answer;
  answer.csv_name = quality ? "quality.csv" : "runs.csv";
  if (cubes.size() == 1) answer.csv_name = cubes.front()->dataset() + "-" + answer.csv_name;
  json& body = answer.body = json::object();
  if (cubes.empty()) {
    body["data"] = json::array();
    body["total"] = 0;
    AddPaging(body, paging);
    return answer;
  }
  // cb_runs names its dataset; cb_quality rows get it added.
  std::string union_sql;
  std::vector<Value> union_params;
  for (const Cube* cube : cubes) {
    union_sql += union_sql.empty() ? "" : " UNION ALL ";
    if (quality) {
      union_sql += "SELECT CAST(? AS TEXT) AS dataset, r.* FROM " + TableName(*cube, table) + " r";
      union_params.emplace_back(cube->dataset());
    } else {
      union_sql += "SELECT r.* FROM " + TableName(*cube, table) + " r";
    }
  }
  std::string order = quality ? " ORDER BY u.checked_at DESC, u.run_id DESC, u.dataset, "
                                "u.check_name, u.table_name"
                              : " ORDER BY u.started_at DESC, u.run_id DESC, u.dataset";
  BoundSql count{"SELECT COUNT(*) FROM (" + union_sql + ") u", union_params};
  BoundSql rows{"SELECT * FROM (" + union_sql + ") u" + order + " LIMIT ? OFFSET ?", union_params};
  rows.params.emplace_back(paging.pagesize);
  rows.params.emplace_back(paging.offset());
  auto total = (*lease)->Query(count.sql, count.Cells());
  if (!total) return std::unexpected(Internal(total.error()));
  auto result = (*lease)->Query(rows.sql, rows.Cells());
  if (!result) return std::unexpected(Internal(result.error()));
  answer.table = ResultTable(std::move(*result));
  answer.rows_key = "data";
  body["columns"] = answer.table.columns;
  body["total"] = total->IntAt();
  AddPaging(body, paging);
  return answer;
}

ApiResult<ApiAnswer> Api::Quality(const QueryParams& params) {
  return Records("cb_quality", params);
}

ApiResult<ApiAnswer> Api::Runs(const QueryParams& params) { return Records("cb_runs", params); }

ApiResult<ApiAnswer> Api::Sql(const std::string& text) {
  std::string sql(Trim(text));
  if (sql.empty())
    return ApiFail("sql", "the request holds no SQL; send {\"sql\": \"SELECT ...\"}");
  if (sql.size() > kMaxSqlBytes)
    return ApiFail("sql", "the SQL is " + std::to_string(sql.size()) + " bytes long; at most " +
                              std::to_string(kMaxSqlBytes) + " are accepted");
  CB_API_ASSIGN_OR_RETURN(WarehousePool::Lease lease, Lease());
  QueryOptions options;
  options.max_rows = kSqlRowCap;
  options.time_limit = kSqlTimeLimit;
  auto started = std::chrono::steady_clock::now();
  auto result = lease->Query(sql, {}, options);
  double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!result) {
    ErrorCode code = result.error().code();
    if (code == ErrorCode::kInvalidArgument || code == ErrorCode::kAborted ||
        code == ErrorCode::kFailedPrecondition)
      return ApiFail("sql", result.error().message());
    return std::unexpected(Internal(result.error()));
  }
  ApiAnswer answer;
  bool truncated = result->truncated;
  answer.table = ResultTable(std::move(*result));
  answer.rows_key = "rows";
  answer.rows_as_objects = false;
  json& body = answer.body = json::object();
  body["columns"] = answer.table.columns;
  body["truncated"] = truncated;
  body["row_cap"] = kSqlRowCap;
  body["elapsed_ms"] = std::round(elapsed_ms * 1000) / 1000;
  answer.csv_name = "sql.csv";
  return answer;
}

}  // namespace citybooks

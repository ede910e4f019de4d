// The JSON API's answers, independent of HTTP: each endpoint of SPEC's
// "Serve" section takes its path parts and checked query parameters, reads
// the warehouse through a leased read-only connection and returns the JSON
// body and, for tabular answers, the rows its .csv variant writes. Bad input
// is an ApiError (400, or 404 for an unknown dataset, dimension, view or
// model) naming the parameter; a warehouse failure is a 500.
//
//   CB_ASSIGN_OR_RETURN(auto api, Api::Make(config, &pool));
//   ApiResult<ApiAnswer> answer = api->Aggregate("sf-spending-revenue", params);
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "serve/cube.h"
#include "serve/json_writer.h"
#include "serve/planner.h"
#include "serve/query_params.h"
#include "serve/warehouse_pool.h"

namespace citybooks {

struct ApiAnswer {
  // The answer without its rows.
  nlohmann::ordered_json body;
  // The rows (what the .csv variant writes), and where they go in the JSON
  // answer: under `rows_key` ("cells", "data", "rows") as objects keyed by
  // column or as arrays. An empty key: not tabular.
  Table table;
  std::string rows_key;
  bool rows_as_objects = true;
  std::string csv_name;  // the download's file name, e.g. "sf-spending-revenue-aggregate.csv"
};

// The JSON text of `answer`: its rows first, then the rest of its body.
std::string AnswerJson(const ApiAnswer& answer);

// The row cap and time limit of POST /api/sql.
inline constexpr size_t kSqlRowCap = 10'000;
inline constexpr std::chrono::milliseconds kSqlTimeLimit{5000};
inline constexpr size_t kMaxSqlBytes = 100'000;
// Aggregate tables up to this many rows are grouped in one query and ordered,
// paged and totalled in memory.
inline constexpr int64_t kInMemoryCells = 20'000;

// The model tables /api/models/{name} reads (model_<name>).
const std::vector<std::string>& ModelNames();

class Api {
 public:
  // Builds a cube for every configured dataset whose mapping loads (others
  // are left out with a warning). `pool` must outlive the Api.
  static Result<std::unique_ptr<Api>> Make(const Config& config, WarehousePool* pool);

  ApiResult<ApiAnswer> Datasets();
  ApiResult<ApiAnswer> Model(const std::string& dataset);
  ApiResult<ApiAnswer> Aggregate(const std::string& dataset, const QueryParams& params);
  ApiResult<ApiAnswer> Facts(const std::string& dataset, const QueryParams& params);
  ApiResult<ApiAnswer> Members(const std::string& dataset, const std::string& dimension,
                               const QueryParams& params);
  ApiResult<ApiAnswer> Views(const std::string& dataset);
  ApiResult<ApiAnswer> View(const std::string& dataset, const std::string& name);
  ApiResult<ApiAnswer> ModelResults(const std::string& name, const QueryParams& params);
  ApiResult<ApiAnswer> Quality(const QueryParams& params);
  ApiResult<ApiAnswer> Runs(const QueryParams& params);
  // One read-only statement, at most kSqlRowCap rows, within kSqlTimeLimit.
  ApiResult<ApiAnswer> Sql(const std::string& sql);

  // The version of `dataset`'s data (its latest cb_runs record and the
  // connection generation): answers computed at one version stay right
  // until it changes. 404 as for the cube endpoints when not loaded.
  ApiResult<std::string> DataVersion(const std::string& dataset);

  const std::vector<Cube>& cubes() const { return cubes_; }

 private:
  // What the warehouse holds of one dataset, as seen by one pool generation.
  struct DatasetState {
    bool has_schema = false;
    std::vector<AggregateTable> aggregates;  // present agg_* tables and their rows
    bool fact_id = false;                    // the fact table has a fact_id column
  };
  struct Context {
    const Cube* cube = nullptr;
    std::optional<WarehousePool::Lease> lease;
    DatasetState state;
  };

  explicit Api(WarehousePool* pool) : pool_(pool) {}

  // The cube of `dataset` (400 for a malformed name, 404 for an unknown one).
  ApiResult<const Cube*> FindCube(const std::string& dataset, const std::string& parameter) const;
  ApiResult<WarehousePool::Lease> Lease();
  DatasetState State(WarehousePool::Lease& lease, const Cube& cube);
  // A connection and the state of `dataset`, which must be loaded (else 404).
  ApiResult<Context> Open(const std::string& dataset, const std::string& parameter = "dataset");
  // When a fresh connection sees schemas of `cubes` that the pooled ones
  // do not (loaded since they opened), retires the pooled connections and
  // returns true. Looks at most once every two seconds.
  bool MaybeRefresh(const std::vector<const Cube*>& cubes);
  // Cuts on dimension attributes must name existing members (400 otherwise).
  ApiStatus CheckMembers(Warehouse& warehouse, const Cube& cube, const std::vector<Cut>& cuts);
  // The cubes whose schemas a `dataset` parameter selects (all loaded ones
  // when absent).
  ApiResult<std::vector<const Cube*>> SelectDatasets(const QueryParams& params,
                                                     std::optional<WarehousePool::Lease>& lease);
  ApiResult<ApiAnswer> Records(const std::string& table, const QueryParams& params);
  // The page of cells, their number and the aggregates over all of them.
  struct Cells {
    std::vector<std::vector<Value>> page;
    int64_t total = 0;
    std::vector<Value> totals;  // one per query aggregate
    std::string source;         // the table answered from (AggregatePlan::source)
  };
  ApiResult<Cells> RunAggregate(Warehouse& warehouse, const AggregatePlan& plan,
                                const AggregateQuery& query);
  // What every aggregate answer does once its drilldowns (and search) are
  // set: cuts, the aggregates shown (chosen among `offered`, into *shown),
  // order and paging from `params`, the cut members checked, then plan and
  // run.
  ApiResult<Cells> AnswerAggregate(Context& context, const QueryParams& params,
                                   const std::vector<const CubeAggregate*>& offered,
                                   AggregateQuery* query, std::vector<const CubeAggregate*>* shown);

  WarehousePool* pool_;
  std::vector<Cube> cubes_;
  std::mutex mutex_;
  uint64_t states_generation_ = 0;
  std::map<std::string, DatasetState> states_;
  std::chrono::steady_clock::time_point last_refresh_{};
};

// A warehouse value as JSON (NULL -> null).
nlohmann::ordered_json ValueJson(const Value& value);

}  // namespace citybooks

// The query planner: turns a checked request (drilldowns, cuts, aggregates,
// order, paging) into SQL over the smallest agg_* table that holds every
// column the request reads, or else over the fact table joined with the
// dimension tables it needs. Identifiers come only from the cube model;
// every value is a bound parameter. Pure: no I/O.
//
//   AggregatePlan plan = PlanAggregate(cube, query, tables);
//   warehouse.Query(plan.cells.sql, plan.cells.Cells());
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "serve/cube.h"
#include "serve/query_params.h"
#include "warehouse/warehouse.h"

namespace citybooks {

// A statement and the values of its '?' parameters.
struct BoundSql {
  std::string sql;
  std::vector<Value> params;
  // The parameters as cells borrowing from `params` (valid while this lives).
  std::vector<Cell> Cells() const;
};

// An aggregate table present in the warehouse and how many rows it holds.
struct AggregateTable {
  const AggregateSpec* spec = nullptr;
  int64_t rows = 0;
};

// The aggregate tables that hold every one of `columns` (unfiltered, not
// histograms), smallest first; the first is where a query should read.
std::vector<const AggregateSpec*> CoveringAggregates(const Mapping& mapping,
                                                     const std::vector<std::string>& columns,
                                                     const std::vector<AggregateTable>& tables);

// A case-insensitive substring filter on one attribute (members' q).
struct Search {
  const CubeAttribute* attribute = nullptr;
  std::string text;
};

struct AggregateQuery {
  std::vector<const CubeAttribute*> drilldowns;
  std::vector<Cut> cuts;
  Search search;
  // Aggregates computed, in this order (those asked for, then any the order
  // needs).
  std::vector<const CubeAggregate*> aggregates;
  // Keys name a drilldown ref or one of `aggregates` (checked by the caller).
  std::vector<OrderKey> order;
  Paging paging;
};

struct AggregatePlan {
  std::string source;  // the table answered from, e.g. "agg_department"
  // Rows of the aggregate table read; -1 when reading the facts.
  int64_t source_rows = -1;
  // One row per cell: the drilldown values, then one column per aggregate
  // (sums and extremes in cents, counts as counts); ordered and paged.
  BoundSql cells;
  // One row: the number of cells, then each aggregate over every cell.
  BoundSql summary;
  // Every cell, unordered: for a small source it is cheaper to read them
  // all once and order, page and total them in memory (SortCells).
  BoundSql grouped;
  // The order of `cells` as (column of a cell row, descending).
  std::vector<std::pair<size_t, bool>> sort_keys;
};

AggregatePlan PlanAggregate(const Cube& cube, const AggregateQuery& query,
                            const std::vector<AggregateTable>& tables);

struct FactsQuery {
  std::vector<const CubeAttribute*> fields;
  bool amount = true;    // amount (dollars) and amount_cents
  bool fact_id = false;  // the fact table has a fact_id column to show
  std::vector<Cut> cuts;
  // Keys name a field ref, "amount", "amount_cents" or "fact_id" (checked by
  // the caller).
  std::vector<OrderKey> order;
  Paging paging;
};

struct FactsPlan {
  // The field columns in order, then amount_cents, then fact_id if asked.
  BoundSql rows;
  BoundSql count;  // one row: the number of matching facts
};

FactsPlan PlanFacts(const Cube& cube, const FactsQuery& query);

// Orders `rows` (cells of `grouped`) as `cells` would be ordered: NULL
// first, then numbers, then text byte by byte, as SQLite compares them.
void SortCells(std::vector<std::vector<Value>>* rows,
               const std::vector<std::pair<size_t, bool>>& sort_keys);
// <0, 0, >0 as a sorts before, with or after b in that order.
int CompareValues(const Value& a, const Value& b);

// The SQL text of a condition "column matches any of `values`" on the
// expression `column`, appending its parameters to `params`.
std::string CutCondition(const std::string& column, const std::vector<CutValue>& values,
                         std::vector<Value>* params);

// `text` as a LIKE pattern matching it anywhere, lower-cased, with '%', '_'
// and the escape character '\' escaped (use with ESCAPE '\').
std::string ContainsPattern(std::string_view text);

}  // namespace citybooks

// Parsing and checking the API's query parameters in the OpenSpending
// babbage conventions: drilldown=a|b, cut=ref:"text"|ref:2019-2021|ref:1;2,
// order=ref:desc, aggregates=amount.sum|_count, page, pagesize. A bad value
// is an ApiError naming the parameter, never an exception; refs are checked
// against the cube's whitelist before anything is planned.
//
//   CB_API_ASSIGN_OR_RETURN(auto cuts, ParseCuts(params.Get("cut")));
//   CB_API_ASSIGN_OR_RETURN(std::vector<Cut> typed, ResolveCuts(cube, cuts));
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serve/cube.h"

namespace citybooks {

// An answer the API refuses: HTTP `status` and {"error": {"parameter",
// "message"}}.
struct ApiError {
  int status = 400;
  std::string parameter;
  std::string message;
};

template <typename T>
using ApiResult = std::expected<T, ApiError>;
using ApiStatus = std::expected<void, ApiError>;

inline std::unexpected<ApiError> ApiFail(std::string parameter, std::string message,
                                         int status = 400) {
  return std::unexpected<ApiError>(ApiError{status, std::move(parameter), std::move(message)});
}

#define CB_API_RETURN_IF_ERROR(expr)                               \
  do {                                                             \
    auto&& cb_status_ = (expr);                                    \
    if (!cb_status_) return ::std::unexpected(cb_status_.error()); \
  } while (false)
#define CB_API_ASSIGN_OR_RETURN(lhs, rexpr) \
  CB_API_ASSIGN_OR_RETURN_IMPL(CB_CONCAT(cb_api_result_, __LINE__), lhs, rexpr)
#define CB_API_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr)         \
  auto tmp = (rexpr);                                         \
  if (!tmp) return ::std::unexpected(std::move(tmp).error()); \
  lhs = std::move(tmp).value()

// Limits on what one request may ask for.
inline constexpr int64_t kDefaultPageSize = 100;
inline constexpr int64_t kMaxPageSize = 10'000;
inline constexpr int64_t kMaxPage = 1'000'000'000;
inline constexpr size_t kMaxParameterBytes = 4096;
inline constexpr size_t kMaxValueBytes = 256;
inline constexpr size_t kMaxCuts = 20;
inline constexpr size_t kMaxValuesPerCut = 100;
inline constexpr size_t kMaxRefs = 16;

// The query parameters of one request, each given at most once.
class QueryParams {
 public:
  // Fails (400) when a parameter is repeated, overlong or not UTF-8.
  static ApiResult<QueryParams> Make(const std::multimap<std::string, std::string>& params);
  // The value, or nullopt when absent.
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

// One value of a cut as written: "text" (quoted), 2020, 2019-2021 or bare text.
struct RawCutValue {
  std::string text;
  bool quoted = false;
};
// ref:value;value
struct RawCut {
  std::string ref;
  std::vector<RawCutValue> values;
  std::string source;  // the cut as written, for the "cell" echo
};

// Splits `cut` into cuts (babbage syntax; quoted values may hold '|', ';' and
// ':' and escape '"' and '\' with a backslash). `parameter` names the
// parameter in errors.
ApiResult<std::vector<RawCut>> ParseCuts(std::string_view text,
                                         const std::string& parameter = "cut");

// One value a cut selects, typed for its column.
struct CutValue {
  enum class Kind { kText, kInteger, kRange };
  Kind kind = Kind::kText;
  std::string text;
  int64_t integer = 0;  // kInteger, and kRange's lower end
  int64_t upper = 0;    // kRange's upper end (inclusive)
};
struct Cut {
  const CubeAttribute* attribute = nullptr;
  std::vector<CutValue> values;  // any of them matches
  std::string source;
};

// Types each cut against the cube: refs must be attributes (not measures),
// integer columns take integers or ranges a-b with a <= b.
ApiResult<std::vector<Cut>> ResolveCuts(const Cube& cube, const std::vector<RawCut>& raw);

// Types a cut on a table without a cube (model tables): an unquoted integer
// binds as an integer, a-b as a range, anything else as text.
std::vector<CutValue> TypeValuesLoosely(const std::vector<RawCutValue>& values);

// Refs separated by '|' (',' also accepted), each [A-Za-z0-9_.]+, no repeats.
ApiResult<std::vector<std::string>> ParseRefList(std::string_view text,
                                                 const std::string& parameter);

// Drilldown refs resolved against the cube.
ApiResult<std::vector<const CubeAttribute*>> ResolveAttributes(const Cube& cube,
                                                               const std::vector<std::string>& refs,
                                                               const std::string& parameter);

struct OrderKey {
  std::string ref;
  bool descending = false;
};
// ref[:asc|:desc] separated by ',' or '|'.
ApiResult<std::vector<OrderKey>> ParseOrder(std::string_view text);

struct Paging {
  int64_t page = 0;
  int64_t pagesize = kDefaultPageSize;
  int64_t offset() const { return page * pagesize; }
};
// page >= 0 (default 0), 0 <= pagesize <= kMaxPageSize (default 100).
ApiResult<Paging> ParsePaging(const QueryParams& params);

// True for [A-Za-z0-9_.]+ names.
bool IsRefText(std::string_view text);
// True for [a-z0-9_-]+ path names (datasets, models, dimensions, views).
bool IsPathName(std::string_view text);

}  // namespace citybooks

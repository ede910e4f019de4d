// Errors as values: every fallible function returns Result<T> (std::expected).
// An Error carries a code that tells the caller what to do (retry, fix the
// input, fix the configuration) and one sentence a user can act on.
//
//   Result<int> ParseYear(std::string_view s);
//   CB_ASSIGN_OR_RETURN(int year, ParseYear(field));
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace citybooks {

enum class ErrorCode {
  kInvalidArgument,     // bad usage or configuration: exit status 2
  kNotFound,            // a file, object, dataset or key that does not exist
  kAlreadyExists,       // create-only operation found the thing present
  kDataError,           // input data that cannot be used (bad CSV, bad header)
  kCheckFailed,         // a data-quality check of severity error failed
  kIoError,             // a local read or write failed
  kUnavailable,         // transient: a retry may succeed (timeouts, 429, 5xx)
  kFailedPrecondition,  // the system is not in the state the call needs
  kUnimplemented,       // a command or backend a later release provides
  kAborted,             // the work was cancelled or interrupted
  kInternal,            // a bug: an invariant did not hold
};

// Returns the lower-case name of `code`, e.g. "data error".
std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // True when repeating the same call later may succeed.
  bool retryable() const { return code_ == ErrorCode::kUnavailable; }

  // Returns a copy whose message is "<context>: <message>".
  Error WithContext(std::string_view context) const;

  // The process exit status a command ending with this error uses (SPEC: 2 on
  // bad usage or configuration, 1 on a failed run).
  int exit_status() const { return code_ == ErrorCode::kInvalidArgument ? 2 : 1; }

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}
inline std::unexpected<Error> Fail(Error error) { return std::unexpected<Error>(std::move(error)); }
inline Status Ok() { return {}; }

}  // namespace citybooks

#define CB_CONCAT_INNER(a, b) a##b
#define CB_CONCAT(a, b) CB_CONCAT_INNER(a, b)

// Evaluates `expr` (a Status or Result); returns its error from the enclosing
// function if it failed.
#define CB_RETURN_IF_ERROR(expr)                                   \
  do {                                                             \
    auto&& cb_status_ = (expr);                                    \
    if (!cb_status_) return ::std::unexpected(cb_status_.error()); \
  } while (false)

// Evaluates `rexpr` (a Result<T>); on success moves its value into `lhs`
// (which may be a declaration), otherwise returns the error.
#define CB_ASSIGN_OR_RETURN(lhs, rexpr) \
  CB_ASSIGN_OR_RETURN_IMPL(CB_CONCAT(cb_result_, __LINE__), lhs, rexpr)
#define CB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr)             \
  auto tmp = (rexpr);                                         \
  if (!tmp) return ::std::unexpected(std::move(tmp).error()); \
  lhs = std::move(tmp).value()

// PortalEmulator: a local Socrata (SODA 2.0) and CKAN (action API) portal that
// behaves like the real ones described in shared/reference/README.md — paging
// that overlaps without $order, silent limit caps, hidden system fields,
// throttling without an app token, ETags, gzip — plus faults injected on
// demand, so citybooks' sources can be tested against what they must survive.
// It listens on 127.0.0.1 only, on a port picked at start.
//
//   auto started = PortalEmulator::Start();
//   ASSERT_TRUE(started) << started.error();
//   PortalEmulator& portal = **started;
//   portal.SetSocrataDataset("bpnb-jwfb", {"fiscal_year", "amount"},
//                            {{"2023", "10.00"}, {"2023", "-2.50"}},
//                            std::chrono::sys_days{2024y / 1 / 2});
//   portal.AddFault({.path_prefix = "/resource/", .fault = Fault::TooManyRequests(1),
//                    .times = 2});
//   // GET portal.base_url() + "/resource/bpnb-jwfb.csv?$order=:id" → 429, 429, then the CSV.
//   EXPECT_EQ(portal.CountRequests("/resource/"), 3);
//
// Endpoints (GET; HEAD answers the same headers; the CKAN actions also take
// POST with a JSON object body; anything else gets 405):
//   /resource/{id}.csv            $limit (default 1000, silently capped at 50000),
//                                 $offset, $order (:id [ASC|DESC] only; without
//                                 it each offset scrambles the rows its own way),
//                                 $select (*, :*, column names, count(*) [AS x]),
//                                 $where (:updated_at or :created_at, compared
//                                 with > >= < <= = to a quoted ISO time),
//                                 $$app_token. Other parameters: 400.
//                                 X-SODA2-Fields/-Types/-Truth-Last-Modified, ETag.
//   /api/views/{id}.json          id, name, createdAt, rowsUpdatedAt,
//                                 viewLastModified, columns[{fieldName, ...}].
//   /api/3/action/package_show    ?id=NAME (or the package's id).
//   /api/3/action/datastore_search  ?resource_id=..&limit=..&offset=.. (limit
//                                 default 100, silently capped at 32000 and
//                                 echoed; records carry _id; empty cells are null).
//   /dataset/{package}/resource/{id}/download/{file}   the bytes, ETag, Last-Modified.
// ETag answers honour If-None-Match (and downloads If-Modified-Since) with 304.
// Every body is gzip-encoded when the request accepts gzip. Unknown datasets,
// packages, resources and paths get 404.
//
// All methods are thread-safe. Methods that take data throw
// std::invalid_argument when the data cannot describe a portal (a row with the
// wrong number of fields, a duplicate resource id): that is a bug in the
// calling test, reported with a sentence saying what to fix.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/time_text.h"

namespace citybooks::emulator {

// ---------------------------------------------------------------------------
// Data the emulator serves.

// A Socrata dataset as its publisher would upload it.
struct SocrataDataset {
  // Field names, e.g. "fiscal_year"; the CSV header and X-SODA2-Fields.
  std::vector<std::string> columns = {};
  // One vector of field values per row, in upload order (which becomes the
  // :id order). Each row has exactly columns.size() fields.
  std::vector<std::vector<std::string>> rows = {};
  // rowsUpdatedAt of this upload; also :created_at / :updated_at of the rows
  // it adds or changes.
  std::chrono::sys_seconds rows_updated_at = {};
  // Socrata type per column ("text", "number", ...); empty means all "text".
  std::vector<std::string> types = {};
  // Quote every CSV field, as SODA 2.0 does; false quotes only when needed.
  bool quote_all_fields = true;
  // End CSV lines with CRLF instead of LF.
  bool crlf_line_ends = false;
};

// One edit of an existing Socrata row, see UpdateSocrataRows().
struct SocrataRowChange {
  // 0-based position of the row in the dataset's current :id order.
  size_t index = 0;
  // The row's new fields; nullopt deletes the row.
  std::optional<std::vector<std::string>> fields = std::nullopt;
};

// A CKAN resource (one uploaded file) as its publisher would upload it.
struct CkanResource {
  std::string id = {};     // e.g. "3a0c1e2b-..."; unique across all packages
  std::string name = {};   // e.g. "July 2021"
  std::string bytes = {};  // the file, served verbatim and parsed for the DataStore
  std::string format = "CSV";
  // Last path segment of the download URL; empty derives it from `name`
  // ("july-2021.csv"). Characters outside [A-Za-z0-9._-] become '-'.
  std::string file_name = {};
  // The `hash` package_show reports; nullopt reports the SHA-256 (hex) of
  // `bytes`. Set "" to emulate a portal that leaves it empty.
  std::optional<std::string> hash = {};
  // Forces `last_modified`; nullopt lets the emulator keep it as CKAN does
  // (set when the resource is created or its bytes change).
  std::optional<PortalTime> last_modified = {};
};

// ---------------------------------------------------------------------------
// Faults.

// What a faulty request gets instead of (or on top of) its normal answer.
struct Fault {
  enum class Kind {
    kStatus,         // `status` with a small JSON body (e.g. 429, 500, 503, 202)
    kDelay,          // wait `delay`, then answer normally (or with another fault)
    kResetMidBody,   // the normal headers, half the body, then the connection closes
    kTruncatedGzip,  // the normal answer gzip-encoded and cut in half, with
                     // Content-Encoding and Content-Length that match what is sent
    kHtmlErrorPage,  // 200 with Content-Type text/html and an error page
  };
  Kind kind = Kind::kStatus;
  int status = 500;
  // Sent as Retry-After (seconds) with kStatus when set.
  std::optional<int> retry_after_seconds = std::nullopt;
  std::chrono::milliseconds delay{0};

  static Fault Status(int status, std::optional<int> retry_after_seconds = std::nullopt);
  // 429 Too Many Requests with Retry-After.
  static Fault TooManyRequests(int retry_after_seconds = 1);
  // 202 Accepted: Socrata's "not ready, ask again".
  static Fault NotReady(std::optional<int> retry_after_seconds = std::nullopt);
  static Fault Delay(std::chrono::milliseconds delay);
  static Fault ResetMidBody();
  static Fault TruncatedGzip();
  static Fault HtmlErrorPage();
};

// When a Fault applies. Rules are checked in the order they were added; every
// rule whose prefix matches counts the request. Delays of all firing rules add
// up; of the other faults the first that fires wins.
struct FaultRule {
  // Requests whose path starts with this, e.g. "/resource/"; "/" is every one.
  std::string path_prefix = "/";
  Fault fault = {};
  // How many requests get the fault; kForever never runs out.
  int times = 1;
  // Only every Nth matching request gets it: 3 means the 3rd, 6th, ...
  int every = 1;

  static constexpr int kForever = -1;
};

// ---------------------------------------------------------------------------
// What the emulator saw.

struct RecordedRequest {
  std::string method;
  // Path and query exactly as sent, e.g. "/resource/x.csv?%24limit=10".
  std::string target;
  // The decoded path, e.g. "/resource/x.csv".
  std::string path;
  // Whether an app token came (X-App-Token header or $$app_token parameter).
  bool app_token = false;
  std::string if_none_match;
  std::string accept_encoding;
  // The status answered; for kResetMidBody and kTruncatedGzip the status of
  // the damaged answer.
  int status = 0;
  // The injected fault, e.g. "status 429" or "reset mid-body"; "" for none.
  std::string fault;
};

struct PortalEmulatorOptions {
  // 0 picks a free port.
  int port = 0;
  // Socrata $limit default and the silent cap of a 2.0 endpoint.
  int socrata_default_limit = 1000;
  int socrata_max_limit = 50000;
  // CKAN datastore_search default limit and ckan.datastore.search.rows_max.
  int ckan_default_limit = 100;
  int ckan_max_limit = 32000;
  // Socrata requests per second allowed without an app token; 0 is no limit.
  int throttle_per_second = 0;
  // Called on a server thread after each request is answered (before its body
  // is sent); e.g. to print a log line. Must not call back into the emulator.
  std::function<void(const RecordedRequest&)> on_request;
};

// ---------------------------------------------------------------------------

class PortalEmulator {
 public:
  // Binds 127.0.0.1:options.port and serves in background threads. Returns a
  // sentence naming the address when it cannot bind.
  static std::expected<std::unique_ptr<PortalEmulator>, std::string> Start(
      PortalEmulatorOptions options = {});

  // Stops serving; waits for requests in progress (injected delays are cut short).
  ~PortalEmulator();
  PortalEmulator(const PortalEmulator&) = delete;
  PortalEmulator& operator=(const PortalEmulator&) = delete;

  int port() const;
  // "http://127.0.0.1:PORT", without a trailing slash.
  std::string base_url() const;

  // "Server down": closes the listening socket and every connection, so
  // connecting to port() is refused. Idempotent. Data and logs are kept.
  void Stop();
  // Serves again on the same port after Stop(). Returns false when the port
  // cannot be bound again (another process took it).
  bool Resume();
  bool running() const;

  // --- Socrata -------------------------------------------------------------

  // Creates dataset `id` or replaces its contents. On a replace, row i keeps
  // the :id and :created_at of the previous row i; rows whose fields changed
  // and rows added get :updated_at = rows_updated_at; rows past the new end
  // are deleted. Every call sets rowsUpdatedAt and changes the ETags.
  void SetSocrataDataset(const std::string& id, SocrataDataset dataset);
  void SetSocrataDataset(const std::string& id, std::vector<std::string> columns,
                         std::vector<std::vector<std::string>> rows,
                         std::chrono::sys_seconds rows_updated_at);

  // Edits rows of an existing dataset in place: `changes` index rows as they
  // are before this call; `appended` rows go after the last one. Changed and
  // added rows get :updated_at = updated_at, which also becomes rowsUpdatedAt.
  void UpdateSocrataRows(const std::string& id, const std::vector<SocrataRowChange>& changes,
                         std::vector<std::vector<std::string>> appended,
                         std::chrono::sys_seconds updated_at);

  // The :id of every row of dataset `id`, in :id order; empty when unknown.
  std::vector<std::string> SocrataRowIds(const std::string& id) const;

  // --- CKAN ----------------------------------------------------------------

  // Creates package `name` or replaces its resources, as of time `at` (default:
  // now, always later than the previous change). metadata_modified becomes
  // `at` when anything differs from before; a resource's last_modified becomes
  // `at` only when it is new or its bytes changed. Setting the same resources
  // again changes nothing.
  void SetCkanPackage(const std::string& name, std::vector<CkanResource> resources,
                      std::optional<PortalTime> at = std::nullopt);
  // Adds `resource` to package `name` (created if needed) or replaces the one
  // with its id, with the same rules as SetCkanPackage().
  void UpsertCkanResource(const std::string& name, CkanResource resource,
                          std::optional<PortalTime> at = std::nullopt);

  // --- Behaviour -------------------------------------------------------------

  void SetThrottle(int requests_per_second);
  void AddFault(FaultRule rule);
  void ClearFaults();

  // --- Request log -------------------------------------------------------------

  std::vector<RecordedRequest> Requests() const;
  // Requests whose path starts with `path_prefix`.
  size_t CountRequests(std::string_view path_prefix = "/") const;
  void ClearRequests();

 private:
  class Impl;
  explicit PortalEmulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace citybooks::emulator

#include "emulator/portal_emulator.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <thread>

#include "emulator/gzip.h"
#include "emulator/internal/ckan_portal.h"
#include "emulator/internal/reply.h"
#include "emulator/internal/socrata_portal.h"

namespace citybooks::emulator {

using internal::CkanPackageState;
using internal::CkanResourceState;
using internal::Reply;
using internal::SocrataTable;

namespace {

constexpr char kHost[] = "127.0.0.1";
// Bodies go out in pieces this size, so a reset fault cuts between writes.
constexpr size_t kWriteChunk = 16 * 1024;

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::string Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return std::string(text);
}

// Whether an Accept-Encoding value admits gzip ("gzip", "x-gzip" or "*",
// unless with q=0).
bool AcceptsGzip(std::string_view header) {
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view token = header.substr(start, end - start);
    start = end + 1;
    const size_t semicolon = token.find(';');
    const std::string name = Lower(Trim(token.substr(0, semicolon)));
    if (name != "gzip" && name != "x-gzip" && name != "*") continue;
    if (semicolon == std::string_view::npos) return true;
    const std::string parameter = Lower(Trim(token.substr(semicolon + 1)));
    if (parameter.starts_with("q=") && std::strtod(parameter.c_str() + 2, nullptr) <= 0.0) {
      continue;
    }
    return true;
  }
  return false;
}

// Whether an If-None-Match value names `etag` (or is "*"). Weak tags match
// their strong form, as RFC 9110's weak comparison for GET says.
bool EtagMatches(std::string_view header, const std::string& etag) {
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    std::string tag = Trim(header.substr(start, end - start));
    start = end + 1;
    if (tag.starts_with("W/")) tag.erase(0, 2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

bool IsSocrataPath(std::string_view path) {
  return path.starts_with("/resource/") || path.starts_with("/api/views/");
}

std::string Describe(const Fault& fault) {
  switch (fault.kind) {
    case Fault::Kind::kStatus:
      return "status " + std::to_string(fault.status);
    case Fault::Kind::kDelay:
      return "delay " + std::to_string(fault.delay.count()) + "ms";
    case Fault::Kind::kResetMidBody:
      return "reset mid-body";
    case Fault::Kind::kTruncatedGzip:
      return "truncated gzip";
    case Fault::Kind::kHtmlErrorPage:
      return "html error page";
  }
  return "fault";
}

Reply StatusFaultReply(const Fault& fault) {
  std::string code = "internal_error";
  std::string message = "Injected fault: HTTP " + std::to_string(fault.status);
  if (fault.status == 202) {
    code = "processing";
    message = "The request is being processed; ask again later";
  } else if (fault.status == 429) {
    code = "throttled";
    message = "Too many requests";
  }
  Reply reply = internal::SocrataErrorReply(fault.status, code, message);
  if (fault.retry_after_seconds) {
    reply.headers.emplace_back("Retry-After", std::to_string(*fault.retry_after_seconds));
  }
  return reply;
}

Reply HtmlErrorPageReply() {
  Reply reply;
  reply.content_type = "text/html; charset=utf-8";
  reply.body =
      "<!DOCTYPE html>\n<html><head><title>We're sorry</title></head>\n"
      "<body><h1>Something went wrong</h1><p>The site is down for maintenance. "
      "Please try again later.</p></body></html>\n";
  return reply;
}

Reply ThrottledReply() {
  Reply reply = internal::SocrataErrorReply(
      429, "throttled", "Too many requests without an app token; send X-App-Token");
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

// What the fault rules decided for one request.
struct FaultPlan {
  std::chrono::milliseconds delay{0};
  std::optional<Fault> fault;  // never kDelay
  std::string description;
};

}  // namespace

// ---------------------------------------------------------------------------
// Fault constructors.

Fault Fault::Status(int status, std::optional<int> retry_after_seconds) {
  return {.kind = Kind::kStatus, .status = status, .retry_after_seconds = retry_after_seconds};
}
Fault Fault::TooManyRequests(int retry_after_seconds) { return Status(429, retry_after_seconds); }
Fault Fault::NotReady(std::optional<int> retry_after_seconds) {
  return Status(202, retry_after_seconds);
}
Fault Fault::Delay(std::chrono::milliseconds delay) {
  return {.kind = Kind::kDelay, .delay = delay};
}
Fault Fault::ResetMidBody() { return {.kind = Kind::kResetMidBody}; }
Fault Fault::TruncatedGzip() { return {.kind = Kind::kTruncatedGzip}; }
Fault Fault::HtmlErrorPage() { return {.kind = Kind::kHtmlErrorPage}; }

// ---------------------------------------------------------------------------

class PortalEmulator::Impl {
 public:
  explicit Impl(PortalEmulatorOptions options)
      : options_(std::move(options)), throttle_per_second_(options_.throttle_per_second) {}
  ~Impl() { Stop(); }

  // Binds `port` (0: any) and starts serving; returns "" or what went wrong.
  std::string Listen(int port) {
    auto server = std::make_unique<httplib::Server>();
    // An idle keep-alive connection, or a client slow to send its request,
    // holds a worker (and so Stop()) up to these many seconds.
    server->set_keep_alive_timeout(1);
    server->set_read_timeout(2);
    // Every method reaches Handle(), so every request is logged; Route()
    // answers 405 to what the portals would not accept.
    const auto handle = [this](const httplib::Request& request, httplib::Response& response) {
      Handle(request, response);
    };
    server->Get(".*", handle);
    server->Post(".*", handle);
    server->Put(".*", handle);
    server->Patch(".*", handle);
    server->Delete(".*", handle);
    server->Options(".*", handle);
    int bound = port;
    if (port == 0) {
      bound = server->bind_to_any_port(kHost);
      if (bound < 0) return std::string("cannot bind ") + kHost + " to any port";
    } else if (!server->bind_to_port(kHost, port)) {
      return std::string("cannot bind ") + kHost + ":" + std::to_string(port) +
             "; is the port taken?";
    }
    port_ = bound;
    listener_done_ = false;
    thread_ = std::thread([this, raw = server.get()] {
      raw->listen_after_bind();
      listener_done_ = true;
    });
    // stop() is a no-op until the listener runs, so wait for it.
    while (!server->is_running() && !listener_done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    server_ = std::move(server);
    return "";
  }

  void Stop() {
    std::lock_guard server_lock(server_mutex_);
    if (!server_) return;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    server_->stop();
    thread_.join();
    server_.reset();
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }

  bool Resume() {
    std::lock_guard server_lock(server_mutex_);
    if (server_) return true;
    return Listen(port_).empty();
  }

  bool running() const {
    std::lock_guard server_lock(server_mutex_);
    return server_ != nullptr;
  }

  int port() const { return port_; }
  std::string base_url() const {
    return std::string("http://") + kHost + ":" + std::to_string(port_);
  }

  // --- Data ------------------------------------------------------------------

  void SetSocrataDataset(const std::string& id, SocrataDataset dataset) {
    CheckId(id, "Socrata dataset id");
    std::shared_ptr<const SocrataTable> previous = FindSocrata(id);
    auto table = std::make_shared<const SocrataTable>(
        internal::UploadSocrataTable(previous.get(), id, std::move(dataset)));
    std::lock_guard lock(mutex_);
    socrata_[id] = std::move(table);
  }

  void UpdateSocrataRows(const std::string& id, const std::vector<SocrataRowChange>& changes,
                         std::vector<std::vector<std::string>> appended,
                         std::chrono::sys_seconds updated_at) {
    std::shared_ptr<const SocrataTable> previous = FindSocrata(id);
    if (!previous) {
      throw std::invalid_argument("Socrata dataset " + id +
                                  " does not exist; call SetSocrataDataset first");
    }
    auto table = std::make_shared<const SocrataTable>(
        internal::EditSocrataTable(*previous, changes, std::move(appended), updated_at));
    std::lock_guard lock(mutex_);
    socrata_[id] = std::move(table);
  }

  std::vector<std::string> SocrataRowIds(const std::string& id) const {
    std::vector<std::string> ids;
    if (std::shared_ptr<const SocrataTable> table = FindSocrata(id)) {
      for (const auto& row : table->rows) ids.push_back(row.id);
    }
    return ids;
  }

  void SetCkanPackage(const std::string& name, std::vector<CkanResource> resources,
                      std::optional<PortalTime> at) {
    CheckId(name, "CKAN package name");
    const PortalTime when = ChangeTime(at);
    std::shared_ptr<const CkanPackageState> previous;
    {
      std::lock_guard lock(mutex_);
      if (auto it = ckan_.find(name); it != ckan_.end()) previous = it->second;
      for (const CkanResource& resource : resources) {
        for (const auto& [other_name, other] : ckan_) {
          if (other_name == name) continue;
          for (const CkanResourceState& used : other->resources) {
            if (used.id == resource.id) {
              throw std::invalid_argument("CKAN resource id " + resource.id +
                                          " already belongs to package " + other_name);
            }
          }
        }
      }
    }
    auto package = std::make_shared<const CkanPackageState>(
        internal::UploadCkanPackage(previous.get(), name, std::move(resources), when));
    std::lock_guard lock(mutex_);
    ckan_[name] = std::move(package);
  }

  void UpsertCkanResource(const std::string& name, CkanResource resource,
                          std::optional<PortalTime> at) {
    std::vector<CkanResource> resources;
    bool replaced = false;
    if (std::shared_ptr<const CkanPackageState> package = FindCkanPackage(name)) {
      for (const CkanResourceState& state : package->resources) {
        if (state.id == resource.id) {
          resources.push_back(resource);
          replaced = true;
          continue;
        }
        resources.push_back({.id = state.id,
                             .name = state.name,
                             .bytes = *state.bytes,
                             .format = state.format,
                             .file_name = state.file_name,
                             .hash = state.hash == state.sha256
                                         ? std::nullopt
                                         : std::optional<std::string>(state.hash)});
      }
    }
    if (!replaced) resources.push_back(std::move(resource));
    SetCkanPackage(name, std::move(resources), at);
  }

  // --- Behaviour and log --------------------------------------------------------

  void SetThrottle(int per_second) {
    std::lock_guard lock(mutex_);
    throttle_per_second_ = per_second;
    unauthenticated_.clear();
  }

  void AddFault(FaultRule rule) {
    if (rule.every < 1 || rule.times < FaultRule::kForever) {
      throw std::invalid_argument("FaultRule needs every >= 1 and times >= 0 or kForever");
    }
    std::lock_guard lock(mutex_);
    faults_.push_back({std::move(rule), 0, 0});
  }

  void ClearFaults() {
    std::lock_guard lock(mutex_);
    faults_.clear();
  }

  std::vector<RecordedRequest> Requests() const {
    std::lock_guard lock(mutex_);
    return log_;
  }

  size_t CountRequests(std::string_view prefix) const {
    std::lock_guard lock(mutex_);
    return size_t(std::count_if(log_.begin(), log_.end(), [&](const RecordedRequest& request) {
      return request.path.starts_with(prefix);
    }));
  }

  void ClearRequests() {
    std::lock_guard lock(mutex_);
    log_.clear();
  }

 private:
  struct ActiveRule {
    FaultRule rule;
    int seen = 0;
    int fired = 0;
  };

  static void CheckId(const std::string& id, std::string_view what) {
    if (id.empty() || id.find_first_of("/?#% ") != std::string::npos) {
      throw std::invalid_argument(std::string(what) + " '" + id +
                                  "' must be non-empty and free of '/', '?', '#', '%' and spaces");
    }
  }

  std::shared_ptr<const SocrataTable> FindSocrata(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = socrata_.find(id);
    return it == socrata_.end() ? nullptr : it->second;
  }

  // By name or by package id, as CKAN accepts both.
  std::shared_ptr<const CkanPackageState> FindCkanPackage(const std::string& name_or_id) const {
    std::lock_guard lock(mutex_);
    for (const auto& [name, package] : ckan_) {
      if (name == name_or_id || package->id == name_or_id) return package;
    }
    return nullptr;
  }

  // The package holding resource `id`, or nullptr.
  std::shared_ptr<const CkanPackageState> FindCkanResource(const std::string& id,
                                                           const CkanResourceState** found) const {
    std::lock_guard lock(mutex_);
    for (const auto& [name, package] : ckan_) {
      for (const CkanResourceState& resource : package->resources) {
        if (resource.id == id) {
          *found = &resource;
          return package;
        }
      }
    }
    return nullptr;
  }

  // `at`, or now; either way strictly after every earlier default change time,
  // so two changes in one microsecond still get different metadata_modified.
  PortalTime ChangeTime(std::optional<PortalTime> at) {
    std::lock_guard lock(mutex_);
    PortalTime when = at.value_or(
        std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now()));
    if (!at && when <= last_change_) when = last_change_ + std::chrono::microseconds(1);
    last_change_ = std::max(last_change_, when);
    return when;
  }

  // --- Serving --------------------------------------------------------------------

  void Handle(const httplib::Request& request, httplib::Response& response) {
    RecordedRequest entry;
    entry.method = request.method;
    entry.target = request.target;
    entry.path = request.path;
    entry.app_token = request.has_header("X-App-Token") || request.has_param("$$app_token");
    entry.if_none_match = request.get_header_value("If-None-Match");
    entry.accept_encoding = request.get_header_value("Accept-Encoding");

    const FaultPlan plan = PlanFaults(request.path);
    if (plan.delay.count() > 0) SleepUnlessStopping(plan.delay);

    std::optional<Fault::Kind> body_fault;
    Reply reply;
    if (plan.fault && plan.fault->kind == Fault::Kind::kStatus) {
      reply = StatusFaultReply(*plan.fault);
    } else if (plan.fault && plan.fault->kind == Fault::Kind::kHtmlErrorPage) {
      reply = HtmlErrorPageReply();
    } else {
      if (plan.fault) body_fault = plan.fault->kind;
      if (IsSocrataPath(request.path) && !entry.app_token && Throttled()) {
        reply = ThrottledReply();
      } else {
        reply = Route(request, RequestParams(request));
      }
      ApplyConditional(request, &reply);
    }

    entry.status = reply.status;
    entry.fault = plan.description;
    {
      std::lock_guard lock(mutex_);
      log_.push_back(entry);
    }
    if (options_.on_request) options_.on_request(entry);
    Send(request, std::move(reply), body_fault, response);
  }

  FaultPlan PlanFaults(const std::string& path) {
    FaultPlan plan;
    std::lock_guard lock(mutex_);
    for (ActiveRule& active : faults_) {
      const FaultRule& rule = active.rule;
      if (!path.starts_with(rule.path_prefix)) continue;
      ++active.seen;
      if (active.seen % rule.every != 0) continue;
      if (rule.times != FaultRule::kForever && active.fired >= rule.times) continue;
      if (rule.fault.kind == Fault::Kind::kDelay) {
        plan.delay += rule.fault.delay;
      } else if (!plan.fault) {
        plan.fault = rule.fault;
      } else {
        continue;  // another fault already fired; this one stays armed
      }
      ++active.fired;
      if (!plan.description.empty()) plan.description += ", ";
      plan.description += Describe(rule.fault);
    }
    return plan;
  }

  void SleepUnlessStopping(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    stop_cv_.wait_for(lock, delay, [this] { return stopping_; });
  }

  // Counts an unauthenticated Socrata request in the last second's window;
  // true when the window is already full (the request is refused, not counted).
  bool Throttled() {
    std::lock_guard lock(mutex_);
    if (throttle_per_second_ <= 0) return false;
    const auto now = std::chrono::steady_clock::now();
    while (!unauthenticated_.empty() && now - unauthenticated_.front() >= std::chrono::seconds(1)) {
      unauthenticated_.pop_front();
    }
    if (unauthenticated_.size() >= size_t(throttle_per_second_)) return true;
    unauthenticated_.push_back(now);
    return false;
  }

  // The query parameters, plus for a POST to the CKAN action API the members
  // of its JSON object body (how ckanapi and many CKAN clients call actions).
  static internal::QueryParams RequestParams(const httplib::Request& request) {
    internal::QueryParams params(request.params.begin(), request.params.end());
    if (request.method != "POST" || !request.path.starts_with("/api/3/action/")) return params;
    const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object()) return params;
    for (const auto& [key, value] : body.items()) {
      params.emplace(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
    return params;
  }

  Reply Route(const httplib::Request& request, const internal::QueryParams& params) {
    static const std::regex kResource(R"(/resource/([^/]+)\.([A-Za-z0-9]+))");
    static const std::regex kView(R"(/api/views/([^/]+)\.json)");
    static const std::regex kAction(R"(/api/3/action/([^/]+))");
    static const std::regex kDownload(R"(/dataset/([^/]+)/resource/([^/]+)/download/[^/]+)");
    const std::string& path = request.path;
    std::smatch match;
    const bool read = request.method == "GET" || request.method == "HEAD";

    if (!read && !std::regex_match(path, kAction)) return MethodNotAllowed("GET");
    if (std::regex_match(path, match, kResource)) {
      if (match[2] != "csv") {
        return internal::SocrataErrorReply(404, "not_found",
                                           "The emulator serves /resource/{id}.csv only");
      }
      std::shared_ptr<const SocrataTable> table = FindSocrata(match[1]);
      if (!table) return SocrataNotFound(match[1]);
      return internal::SocrataResourceReply(
          *table, params, {options_.socrata_default_limit, options_.socrata_max_limit});
    }
    if (std::regex_match(path, match, kView)) {
      std::shared_ptr<const SocrataTable> table = FindSocrata(match[1]);
      if (!table) return SocrataNotFound(match[1]);
      return internal::SocrataViewReply(*table);
    }
    if (std::regex_match(path, match, kAction)) {
      if (!read && request.method != "POST") return MethodNotAllowed("GET, POST");
      return CkanAction(match[1], params);
    }
    if (std::regex_match(path, match, kDownload)) {
      std::shared_ptr<const CkanPackageState> package = FindCkanPackage(match[1]);
      if (package) {
        for (const CkanResourceState& resource : package->resources) {
          if (resource.id == match[2]) return internal::CkanDownloadReply(resource);
        }
      }
      return internal::TextReply(404, "404 Not Found: no resource " + match[2].str() +
                                          " in package " + match[1].str() + "\n");
    }
    return internal::TextReply(404, "404 Not Found: " + path + "\n");
  }

  static Reply SocrataNotFound(const std::string& id) {
    return internal::SocrataErrorReply(404, "not_found", "Cannot find view with id " + id);
  }

  static Reply MethodNotAllowed(const std::string& allowed) {
    Reply reply = internal::TextReply(405, "405 Method Not Allowed\n");
    reply.headers.emplace_back("Allow", allowed);
    return reply;
  }

  Reply CkanAction(const std::string& action, const internal::QueryParams& params) {
    auto param = [&params](const std::string& key) -> std::optional<std::string> {
      auto it = params.find(key);
      if (it == params.end()) return std::nullopt;
      return it->second;
    };
    const std::string base = base_url();
    if (action == "package_show") {
      const std::optional<std::string> id = param("id");
      if (!id) return internal::CkanValidationErrorReply(action, "id", "Missing value", base);
      std::shared_ptr<const CkanPackageState> package = FindCkanPackage(*id);
      if (!package) return internal::CkanNotFoundReply(action, "Not found", base);
      return internal::CkanPackageShowReply(*package, base);
    }
    if (action == "datastore_search") {
      const std::optional<std::string> id = param("resource_id");
      if (!id) {
        return internal::CkanValidationErrorReply(action, "resource_id", "Missing value", base);
      }
      const CkanResourceState* resource = nullptr;
      std::shared_ptr<const CkanPackageState> package = FindCkanResource(*id, &resource);
      if (!package) {
        return internal::CkanNotFoundReply(action, "Resource \"" + *id + "\" was not found.", base);
      }
      return internal::CkanDatastoreSearchReply(
          *resource, params, {options_.ckan_default_limit, options_.ckan_max_limit}, base);
    }
    return internal::CkanUnknownActionReply(action, base);
  }

  // Turns a 200 into 304 when the request's validators match: If-None-Match
  // against the ETag, or else If-Modified-Since against Last-Modified.
  static void ApplyConditional(const httplib::Request& request, Reply* reply) {
    if (reply->status != 200) return;
    bool not_modified = false;
    const std::string if_none_match = request.get_header_value("If-None-Match");
    if (!if_none_match.empty()) {
      not_modified = !reply->etag.empty() && EtagMatches(if_none_match, reply->etag);
    } else if (reply->last_modified && request.has_header("If-Modified-Since")) {
      const auto since = ParseHttpDate(request.get_header_value("If-Modified-Since"));
      not_modified = since && *reply->last_modified <= *since;
    }
    if (!not_modified) return;
    reply->status = 304;
    reply->body.clear();
  }

  // Writes `reply` into `response`: validators, gzip when accepted, and a
  // body fault if one fired. Bodies go through a content provider so that
  // httplib neither re-encodes them nor hides a short body.
  static void Send(const httplib::Request& request, Reply reply,
                   std::optional<Fault::Kind> body_fault, httplib::Response& response) {
    response.status = reply.status;
    for (const auto& [name, value] : reply.headers) response.set_header(name, value);
    if (!reply.etag.empty()) response.set_header("ETag", reply.etag);
    if (reply.last_modified)
      response.set_header("Last-Modified", FormatHttpDate(*reply.last_modified));
    if (reply.status == 304) return;

    std::string payload = std::move(reply.body);
    bool gzip = false;
    if (body_fault == Fault::Kind::kTruncatedGzip) {
      payload = GzipCompress(payload);
      payload.resize(payload.size() / 2);
      gzip = true;
    } else if (AcceptsGzip(request.get_header_value("Accept-Encoding"))) {
      payload = GzipCompress(payload);
      gzip = true;
    }
    response.set_header("Vary", "Accept-Encoding");
    if (gzip) response.set_header("Content-Encoding", "gzip");

    size_t declared = payload.size();
    size_t sent = payload.size();
    if (body_fault == Fault::Kind::kResetMidBody) {
      declared = std::max<size_t>(payload.size(), 1);
      sent = payload.size() / 2;
    }
    if (declared == 0) {
      response.set_content("", reply.content_type);
      return;
    }
    auto body = std::make_shared<const std::string>(std::move(payload));
    response.set_content_provider(
        declared, reply.content_type,
        [body, sent](size_t offset, size_t length, httplib::DataSink& sink) {
          // Returning false makes httplib drop the connection mid-body.
          if (offset >= sent) return false;
          return sink.write(body->data() + offset, std::min({length, sent - offset, kWriteChunk}));
        });
  }

  const PortalEmulatorOptions options_;

  mutable std::mutex mutex_;  // guards everything below up to server_mutex_
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<const SocrataTable>> socrata_;
  std::map<std::string, std::shared_ptr<const CkanPackageState>> ckan_;
  std::vector<ActiveRule> faults_;
  int throttle_per_second_ = 0;
  std::deque<std::chrono::steady_clock::time_point> unauthenticated_;
  std::vector<RecordedRequest> log_;
  PortalTime last_change_{};

  mutable std::mutex server_mutex_;  // serializes Stop() and Resume()
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listener_done_{false};
  std::atomic<int> port_{0};
};

// ---------------------------------------------------------------------------

std::expected<std::unique_ptr<PortalEmulator>, std::string> PortalEmulator::Start(
    PortalEmulatorOptions options) {
  const int port = options.port;
  auto impl = std::make_unique<Impl>(std::move(options));
  if (std::string error = impl->Listen(port); !error.empty()) return std::unexpected(error);
  return std::unique_ptr<PortalEmulator>(new PortalEmulator(std::move(impl)));
}

PortalEmulator::PortalEmulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PortalEmulator::~PortalEmulator() = default;

int PortalEmulator::port() const { return impl_->port(); }
std::string PortalEmulator::base_url() const { return impl_->base_url(); }
void PortalEmulator::Stop() { impl_->Stop(); }
bool PortalEmulator::Resume() { return impl_->Resume(); }
bool PortalEmulator::running() const { return impl_->running(); }

void PortalEmulator::SetSocrataDataset(const std::string& id, SocrataDataset dataset) {
  impl_->SetSocrataDataset(id, std::move(dataset));
}

void PortalEmulator::SetSocrataDataset(const std::string& id, std::vector<std::string> columns,
                                       std::vector<std::vector<std::string>> rows,
                                       std::chrono::sys_seconds rows_updated_at) {
  impl_->SetSocrataDataset(
      id,
      {.columns = std::move(columns), .rows = std::move(rows), .rows_updated_at = rows_updated_at});
}

void PortalEmulator::UpdateSocrataRows(const std::string& id,
                                       const std::vector<SocrataRowChange>& changes,
                                       std::vector<std::vector<std::string>> appended,
                                       std::chrono::sys_seconds updated_at) {
  impl_->UpdateSocrataRows(id, changes, std::move(appended), updated_at);
}

std::vector<std::string> PortalEmulator::SocrataRowIds(const std::string& id) const {
  return impl_->SocrataRowIds(id);
}

void PortalEmulator::SetCkanPackage(const std::string& name, std::vector<CkanResource> resources,
                                    std::optional<PortalTime> at) {
  impl_->SetCkanPackage(name, std::move(resources), at);
}

void PortalEmulator::UpsertCkanResource(const std::string& name, CkanResource resource,
                                        std::optional<PortalTime> at) {
  impl_->UpsertCkanResource(name, std::move(resource), at);
}

void PortalEmulator::SetThrottle(int requests_per_second) {
  impl_->SetThrottle(requests_per_second);
}
void PortalEmulator::AddFault(FaultRule rule) { impl_->AddFault(std::move(rule)); }
void PortalEmulator::ClearFaults() { impl_->ClearFaults(); }

std::vector<RecordedRequest> PortalEmulator::Requests() const { return impl_->Requests(); }
size_t PortalEmulator::CountRequests(std::string_view path_prefix) const {
  return impl_->CountRequests(path_prefix);
}
void PortalEmulator::ClearRequests() { impl_->ClearRequests(); }

}  // namespace citybooks::emulator

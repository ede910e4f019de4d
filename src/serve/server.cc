#include "serve/server.h"

#include <httplib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>

#include "common/log.h"
#include "common/text.h"
#include "serve/dashboard_assets.h"
#include "serve/metrics.h"
#include "serve/response_cache.h"

namespace citybooks {

namespace {

using json = nlohmann::ordered_json;

// What the metrics need to know about the request this thread is answering:
// set when routing starts, completed when the response is about to be
// written.
struct RequestMeter {
  bool active = false;
  std::chrono::steady_clock::time_point started;
  const char* route = "unmatched";
};
thread_local RequestMeter meter;

void WriteJson(httplib::Response& response, int status, const json& body) {
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                       "application/json; charset=utf-8");
}

void WriteError(httplib::Response& response, const ApiError& error) {
  json detail = json::object();
  detail["parameter"] = error.parameter.empty() ? json(nullptr) : json(error.parameter);
  detail["message"] = error.message;
  json body = json::object();
  body["error"] = std::move(detail);
  if (error.status >= 500) LogError("serve: " + error.message);
  WriteJson(response, error.status, body);
}

// The answer as it is sent: JSON, or the CSV download.
CachedResponse Render(const ApiAnswer& answer, bool csv) {
  CachedResponse rendered;
  if (csv) {
    rendered.content_type = "text/csv; charset=utf-8";
    rendered.content_disposition = "attachment; filename=\"" + answer.csv_name + "\"";
    rendered.body = TableToCsv(answer.table);
  } else {
    rendered.content_type = "application/json; charset=utf-8";
    rendered.body = AnswerJson(answer);
  }
  return rendered;
}

void WriteRendered(httplib::Response& response, const CachedResponse& rendered) {
  response.status = 200;
  response.set_header("Cache-Control", "no-store");
  if (!rendered.content_disposition.empty())
    response.set_header("Content-Disposition", rendered.content_disposition);
  response.set_content(rendered.body, rendered.content_type.c_str());
}

void WriteAnswer(httplib::Response& response, const ApiResult<ApiAnswer>& answer, bool csv) {
  if (!answer) {
    WriteError(response, answer.error());
    return;
  }
  WriteRendered(response, Render(*answer, csv));
}

// Constant-time comparison, so the token cannot be guessed byte by byte
// from response times.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    difference |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return difference == 0;
}

bool IsCsv(const httplib::Request& request, size_t group) {
  return request.matches.size() > group && request.matches[group].matched;
}

// The SQL of a POST /api/sql: {"sql": "..."} as JSON, sql=... as a form or
// query parameter, or else the body as plain text.
ApiResult<std::string> SqlOf(const httplib::Request& request) {
  if (request.has_param("sql")) return request.get_param_value("sql");
  std::string type = AsciiLower(request.get_header_value("Content-Type"));
  if (type.rfind("application/json", 0) == 0) {
    json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("sql") ||
        !body["sql"].is_string())
      return ApiFail("sql",
                     "the JSON body must be an object with a string \"sql\", e.g. "
                     "{\"sql\": \"SELECT 1\"}");
    return body["sql"].get<std::string>();
  }
  if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
    httplib::Params form;
    httplib::detail::parse_query_text(request.body, form);
    auto it = form.find("sql");
    if (it != form.end()) return it->second;
    // No sql= field: a client that posted the SQL text as it is (curl -d).
  }
  return request.body;
}

}  // namespace

bool IsLoopbackAddress(const std::string& address) {
  return address == "localhost" || address == "::1" || address == "[::1]" ||
         address.rfind("127.", 0) == 0;
}

struct Server::Impl {
  Api* api = nullptr;
  ServerOptions options;
  Metrics metrics;
  ResponseCache cache{64 << 20};
  httplib::Server http;

  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // Registers `handler` for GET (or POST) `pattern`, naming the route
  // `route` in the metrics.
  void Get(const char* pattern, const char* route, Handler handler) {
    http.Get(pattern, Metered(route, std::move(handler)));
  }
  void Post(const char* pattern, const char* route, Handler handler) {
    http.Post(pattern, Metered(route, std::move(handler)));
  }
  static httplib::Server::Handler Metered(const char* route, Handler handler) {
    return [route, handler = std::move(handler)](const httplib::Request& request,
                                                 httplib::Response& response) {
      meter.route = route;
      handler(request, response);
    };
  }

  // Runs `answer` with the request's checked query parameters.
  static void WithParams(const httplib::Request& request, httplib::Response& response, bool csv,
                         const std::function<ApiResult<ApiAnswer>(const QueryParams&)>& answer) {
    ApiResult<QueryParams> params = QueryParams::Make(request.params);
    if (!params) {
      WriteError(response, params.error());
      return;
    }
    WriteAnswer(response, answer(*params), csv);
  }

  // Like WithParams for an answer that depends only on the request and the
  // dataset's data: answered from the cache while the data version is the
  // one it was computed at. "Cache-Control: no-cache" on the request skips
  // the cache (benchmarks of the query path use it).
  void Cached(const httplib::Request& request, httplib::Response& response,
              const std::string& dataset, bool csv,
              const std::function<ApiResult<ApiAnswer>(const QueryParams&)>& answer) {
    bool bypass =
        AsciiLower(request.get_header_value("Cache-Control")).find("no-cache") != std::string::npos;
    ApiResult<QueryParams> params = QueryParams::Make(request.params);
    if (!params) {
      WriteError(response, params.error());
      return;
    }
    std::string version;
    if (!bypass) {
      ApiResult<std::string> current = api->DataVersion(dataset);
      if (!current) {
        WriteError(response, current.error());
        return;
      }
      version = std::move(*current);
      if (auto hit = cache.Find(request.target, version)) {
        response.set_header("X-Citybooks-Cache", "hit");
        WriteRendered(response, *hit);
        return;
      }
    }
    ApiResult<ApiAnswer> computed = answer(*params);
    if (!computed) {
      WriteError(response, computed.error());
      return;
    }
    CachedResponse rendered = Render(*computed, csv);
    WriteRendered(response, rendered);
    if (!bypass) cache.Store(request.target, version, std::move(rendered));
  }

  void ServeAsset(const httplib::Request& request, httplib::Response& response,
                  const DashboardAsset& asset) {
    response.set_header("ETag", asset.etag);
    // Revalidated on every load (the names carry no hash), answered 304 when
    // unchanged.
    response.set_header("Cache-Control", "no-cache");
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_header("Referrer-Policy", "no-referrer");
    if (request.get_header_value("If-None-Match") == asset.etag) {
      response.status = 304;
      return;
    }
    response.status = 200;
    response.set_content(std::string(asset.bytes), asset.content_type.c_str());
  }

  void Routes() {
    Get("/healthz", "/healthz", [](const httplib::Request&, httplib::Response& response) {
      WriteJson(response, 200, json{{"status", "ok"}});
    });
    Get("/metrics", "/metrics", [this](const httplib::Request&, httplib::Response& response) {
      response.set_header("Cache-Control", "no-store");
      response.set_content(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    Get("/api/datasets", "/api/datasets",
        [this](const httplib::Request&, httplib::Response& response) {
          WriteAnswer(response, api->Datasets(), false);
        });
    Get(R"(/api/cubes/([^/]+)/aggregate(\.csv)?)", "/api/cubes/{dataset}/aggregate",
        [this](const httplib::Request& request, httplib::Response& response) {
          Cached(request, response, request.matches[1], IsCsv(request, 2),
                 [&](const QueryParams& params) {
                   return api->Aggregate(request.matches[1], params);
                 });
        });
    Get(R"(/api/cubes/([^/]+)/model)", "/api/cubes/{dataset}/model",
        [this](const httplib::Request& request, httplib::Response& response) {
          WriteAnswer(response, api->Model(request.matches[1]), false);
        });
    Get(R"(/api/cubes/([^/]+)/facts(\.csv)?)", "/api/cubes/{dataset}/facts",
        [this](const httplib::Request& request, httplib::Response& response) {
          Cached(request, response, request.matches[1], IsCsv(request, 2),
                 [&](const QueryParams& params) { return api->Facts(request.matches[1], params); });
        });
    Get(R"(/api/cubes/([^/]+)/members/([^/]+?)(\.csv)?)",
        "/api/cubes/{dataset}/members/{dimension}",
        [this](const httplib::Request& request, httplib::Response& response) {
          Cached(request, response, request.matches[1], IsCsv(request, 3),
                 [&](const QueryParams& params) {
                   return api->Members(request.matches[1], request.matches[2], params);
                 });
        });
    Get(R"(/api/cubes/([^/]+)/views)", "/api/cubes/{dataset}/views",
        [this](const httplib::Request& request, httplib::Response& response) {
          WriteAnswer(response, api->Views(request.matches[1]), false);
        });
    Get(R"(/api/cubes/([^/]+)/views/([^/]+?)(\.csv)?)", "/api/cubes/{dataset}/views/{name}",
        [this](const httplib::Request& request, httplib::Response& response) {
          Cached(request, response, request.matches[1], IsCsv(request, 3), [&](const QueryParams&) {
            return api->View(request.matches[1], request.matches[2]);
          });
        });
    Get(R"(/api/models/(.+?)(\.csv)?)", "/api/models/{name}",
        [this](const httplib::Request& request, httplib::Response& response) {
          WithParams(request, response, IsCsv(request, 2), [&](const QueryParams& params) {
            return api->ModelResults(request.matches[1], params);
          });
        });
    Get(R"(/api/quality(\.csv)?)", "/api/quality",
        [this](const httplib::Request& request, httplib::Response& response) {
          WithParams(request, response, IsCsv(request, 1),
                     [&](const QueryParams& params) { return api->Quality(params); });
        });
    Get(R"(/api/runs(\.csv)?)", "/api/runs",
        [this](const httplib::Request& request, httplib::Response& response) {
          WithParams(request, response, IsCsv(request, 1),
                     [&](const QueryParams& params) { return api->Runs(params); });
        });
    Post(R"(/api/sql(\.csv)?)", "/api/sql",
         [this](const httplib::Request& request, httplib::Response& response) {
           ApiResult<std::string> sql = SqlOf(request);
           if (!sql) {
             WriteError(response, sql.error());
             return;
           }
           WriteAnswer(response, api->Sql(*sql), IsCsv(request, 1));
         });
    Get("/api/.*", "/api/unknown",
        [](const httplib::Request& request, httplib::Response& response) {
          WriteError(response,
                     ApiError{404, "path",
                              "there is no API endpoint " + SanitizeText(request.path, 120, true) +
                                  "; start from /api/datasets"});
        });
    // The dashboard: its three files, and index.html for any other page path
    // (the dashboard routes in the browser).
    Get(".*", "/dashboard", [this](const httplib::Request& request, httplib::Response& response) {
      if (const DashboardAsset* asset = FindDashboardAsset(request.path)) {
        ServeAsset(request, response, *asset);
        return;
      }
      std::string_view last = request.path;
      last = last.substr(last.rfind('/') + 1);
      if (last.find('.') == std::string_view::npos) {
        ServeAsset(request, response, *FindDashboardAsset("/"));
        return;
      }
      WriteError(response, ApiError{404, "path",
                                    "there is no file " + SanitizeText(request.path, 120, true)});
    });
  }

  void Hooks() {
    http.set_pre_routing_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
          if (meter.active) metrics.Abandon();  // the previous answer was never written
          meter.active = true;
          meter.started = std::chrono::steady_clock::now();
          meter.route = "unmatched";
          metrics.Begin();
          if (options.token.empty()) return httplib::Server::HandlerResponse::Unhandled;
          const std::string& path = request.path;
          bool guarded = path == "/metrics" || path == "/api" || path.rfind("/api/", 0) == 0;
          if (!guarded) return httplib::Server::HandlerResponse::Unhandled;
          std::string header = request.get_header_value("Authorization");
          constexpr std::string_view kBearer = "Bearer ";
          if (header.size() > kBearer.size() && EqualsIgnoreCase(header.substr(0, 7), kBearer) &&
              SameSecret(std::string_view(header).substr(kBearer.size()), options.token))
            return httplib::Server::HandlerResponse::Unhandled;
          meter.route = "unauthorized";
          response.set_header("WWW-Authenticate", "Bearer realm=\"citybooks\"");
          WriteError(response, ApiError{401, "Authorization",
                                        "this server needs \"Authorization: Bearer <token>\" with "
                                        "the token in its CITYBOOKS_SERVE_TOKEN"});
          return httplib::Server::HandlerResponse::Handled;
        });
    // Called once the answer is complete, just before it is written, so a
    // client that reads /metrics after an answer always finds it counted.
    http.set_post_routing_handler([this](const httplib::Request&, httplib::Response& response) {
      if (!meter.active) return;
      meter.active = false;
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - meter.started).count();
      metrics.End(meter.route, response.status, seconds);
    });
    // Statuses httplib sets itself (no route, bad request) get a JSON body too.
    httplib::Server::HandlerWithResponse error_handler = [](const httplib::Request& request,
                                                            httplib::Response& response) {
      if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      std::string message = response.status == 404
                                ? "there is nothing at " + SanitizeText(request.path, 120, true)
                                : std::string("the request could not be answered (HTTP ") +
                                      std::to_string(response.status) + ")";
      WriteError(response, ApiError{response.status, "path", message});
      return httplib::Server::HandlerResponse::Handled;
    };
    http.set_error_handler(std::move(error_handler));
    http.set_exception_handler(
        [](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
          std::string message = "an internal error ended the request";
          try {
            if (error) std::rethrow_exception(error);
          } catch (const std::exception& e) {
            message += std::string(": ") + e.what();
          } catch (...) {
          }
          WriteError(response, ApiError{500, "", message});
        });
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::Make(Api* api, ServerOptions options) {
  if (options.port < 0 || options.port > 65535)
    return Fail(ErrorCode::kInvalidArgument,
                "--port " + std::to_string(options.port) +
                    " is not a port; use 1 to 65535, or 0 for any free port");
  if (options.threads < 1) options.threads = 1;
  auto impl = std::make_unique<Impl>();
  impl->api = api;
  impl->options = options;
  size_t threads = static_cast<size_t>(options.threads);
  impl->http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl->http.set_tcp_nodelay(true);
  impl->http.set_keep_alive_max_count(10'000);
  impl->http.set_keep_alive_timeout(5);
  impl->http.set_read_timeout(10);
  impl->http.set_write_timeout(30);
  impl->http.set_payload_max_length(1 << 20);
  impl->Hooks();
  impl->Routes();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Result<int> Server::Bind() {
  const ServerOptions& options = impl_->options;
  errno = 0;
  int port = options.port;
  if (port == 0) {
    port = impl_->http.bind_to_any_port(options.bind);
    if (port <= 0) port = -1;
  } else if (!impl_->http.bind_to_port(options.bind, port)) {
    port = -1;
  }
  if (port < 0) {
    std::string reason = errno ? std::strerror(errno) : "the address is in use or not local";
    return Fail(ErrorCode::kUnavailable, "cannot listen on " + options.bind + ":" +
                                             std::to_string(options.port) + " (" + reason +
                                             "); choose another --port or --bind");
  }
  return port;
}

Status Server::Run() {
  if (!impl_->http.listen_after_bind())
    return Fail(ErrorCode::kUnavailable, "the server on " + impl_->options.bind +
                                             " stopped unexpectedly while accepting connections");
  return Ok();
}

void Server::Stop() { impl_->http.stop(); }

}  // namespace citybooks

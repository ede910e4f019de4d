#include <nlohmann/json.hpp>

#include "common/csv_reader.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/text.h"
#include "extract/source.h"

namespace citybooks {

namespace {

using Json = nlohmann::json;

// Socrata's largest page (SODA 2.x).
constexpr int64_t kSocrataPageRows = 50'000;

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// An answer the caller cannot use as CSV: an HTTP error status, or an HTML
// page (portals answer maintenance and error pages with status 200).
Status CheckCsvAnswer(const HttpRequest& request, const HttpResponse& response) {
  if (response.status != 200)
    return Fail(ErrorCode::kUnavailable, request.method + " " + request.url + " answered HTTP " +
                                             std::to_string(response.status) + "; nothing landed");
  std::string type = AsciiLower(response.Header("content-type"));
  std::string_view start = Trim(std::string_view(response.body).substr(0, 512));
  if (type.find("html") != std::string::npos || (!start.empty() && start.front() == '<'))
    return Fail(ErrorCode::kDataError,
                request.method + " " + request.url + " returned an HTML page instead of CSV (" +
                    (type.empty() ? "no content type" : type) + "); nothing landed");
  return Ok();
}

Result<Json> FetchJson(HttpClient& http, const HttpRequest& request, int* requests) {
  ++*requests;
  CB_ASSIGN_OR_RETURN(HttpResponse response, http.Fetch(request));
  if (response.status != 200)
    return Fail(ErrorCode::kUnavailable, request.method + " " + request.url + " answered HTTP " +
                                             std::to_string(response.status) + "; nothing landed");
  try {
    return Json::parse(response.body);
  } catch (const Json::exception& error) {
    return Fail(ErrorCode::kDataError, request.method + " " + request.url +
                                           " did not return JSON (" + error.what() +
                                           "); nothing landed");
  }
}

// A ByteSource over bytes already in memory (one download).
class BodySource : public ByteSource {
 public:
  BodySource(std::string body, std::string name) : body_(std::move(body)), name_(std::move(name)) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    size_t n = std::min(size, body_.size() - offset_);
    std::copy_n(body_.data() + offset_, n, buffer);
    offset_ += n;
    return n;
  }
  std::string_view name() const override { return name_; }

 private:
  std::string body_;
  std::string name_;
  size_t offset_ = 0;
};

// --- Socrata ----------------------------------------------------------------------

// The pages of /resource/{id}.csv ordered by :id, as one CSV stream: the
// first page whole, later pages without their header line. Ordering by :id
// is what keeps pages from overlapping or skipping rows.
class SocrataPages : public ByteSource {
 public:
  SocrataPages(HttpClient& http, std::string resource_url,
               std::vector<std::pair<std::string, std::string>> headers, int64_t page_rows,
               int* requests)
      : http_(http),
        resource_url_(std::move(resource_url)),
        headers_(std::move(headers)),
        page_rows_(page_rows),
        requests_(requests),
        meter_("pulling " + resource_url_, 0) {}

  Result<size_t> Read(char* buffer, size_t size) override {
    while (offset_ >= page_.size()) {
      if (done_) return size_t{0};
      CB_RETURN_IF_ERROR(NextPage());
    }
    size_t n = std::min(size, page_.size() - offset_);
    std::copy_n(page_.data() + offset_, n, buffer);
    offset_ += n;
    return n;
  }
  std::string_view name() const override { return resource_url_; }
  const std::string& last_etag() const { return etag_; }

 private:
  Status NextPage() {
    HttpRequest request;
    request.url = resource_url_ + "?%24order=%3Aid&%24limit=" + std::to_string(page_rows_) +
                  "&%24offset=" + std::to_string(rows_seen_);
    request.headers = headers_;
    ++*requests_;
    CB_ASSIGN_OR_RETURN(HttpResponse response, http_.Fetch(request));
    CB_RETURN_IF_ERROR(CheckCsvAnswer(request, response));
    etag_ = response.Header("etag");
    CsvRecordCounter counter;
    counter.Feed(response.body);
    uint64_t records = counter.Finish();
    int64_t rows = records > 0 ? static_cast<int64_t>(records) - 1 : 0;
    size_t header_end = response.body.find('\n');
    std::string header = response.body.substr(
        0, header_end == std::string::npos ? response.body.size() : header_end + 1);
    if (rows_seen_ == 0) {
      header_ = header;
      page_ = std::move(response.body);
    } else {
      if (header != header_)
        return Fail(ErrorCode::kDataError,
                    "GET " + request.url + " changed its columns between pages; nothing landed");
      page_ = response.body.substr(header.size());
    }
    if (!page_.empty() && page_.back() != '\n') page_.push_back('\n');
    offset_ = 0;
    rows_seen_ += rows;
    bytes_seen_ += page_.size();
    done_ = rows < page_rows_;
    if (done_) {
      meter_.Finish();
    } else {
      meter_.Update(bytes_seen_, static_cast<uint64_t>(rows_seen_));
    }
    return Ok();
  }

  HttpClient& http_;
  std::string resource_url_;
  std::vector<std::pair<std::string, std::string>> headers_;
  int64_t page_rows_;
  int* requests_;
  std::string page_;
  size_t offset_ = 0;
  std::string header_;
  std::string etag_;
  int64_t rows_seen_ = 0;
  uint64_t bytes_seen_ = 0;
  bool done_ = false;
  ProgressMeter meter_;
};

class SocrataSource : public Source {
 public:
  SocrataSource(const DatasetConfig& dataset, HttpClient* http, std::string token)
      : dataset_(dataset), http_(*http), token_(std::move(token)) {}

  Result<ExtractResult> Extract(RawZone& raw) override {
    ExtractResult result;
    std::string base = TrimSlash(dataset_.base_url);
    std::string item = dataset_.dataset_id + ".csv";
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token_.empty()) headers.emplace_back("X-App-Token", token_);

    // One request tells whether anything changed.
    HttpRequest views{.url = base + "/api/views/" + dataset_.dataset_id + ".json",
                      .headers = headers};
    CB_ASSIGN_OR_RETURN(Json metadata, FetchJson(http_, views, &result.requests));
    std::string rows_updated_at =
        metadata.contains("rowsUpdatedAt") ? metadata["rowsUpdatedAt"].dump() : "";
    CB_ASSIGN_OR_RETURN(auto latest, raw.LatestFile(dataset_.name, item));
    if (latest && !rows_updated_at.empty() && latest->rows_updated_at == rows_updated_at) {
      result.summary = dataset_.name + ": unchanged since rowsUpdatedAt " + rows_updated_at + " (" +
                       std::to_string(result.requests) + " request); nothing landed";
      return result;
    }

    // The row count the pages must add up to.
    std::string resource_url = base + "/resource/" + item;
    HttpRequest count{.url = resource_url + "?%24select=count%28%2A%29", .headers = headers};
    ++result.requests;
    CB_ASSIGN_OR_RETURN(HttpResponse count_answer, http_.Fetch(count));
    CB_RETURN_IF_ERROR(CheckCsvAnswer(count, count_answer));
    CsvReader reader(MakeViewSource(count_answer.body, count.url));
    CsvRecord record;
    std::optional<int64_t> expected;
    if (auto header = reader.Next(&record); header && *header)
      if (auto value = reader.Next(&record); value && *value && !record.fields.empty())
        expected = ParseInt(Trim(record.fields[0]));
    if (!expected)
      return Fail(ErrorCode::kDataError,
                  "GET " + count.url + " did not answer a row count; nothing landed");

    SnapshotOptions options;
    options.kind = "full";
    options.source_urls = {resource_url};
    options.watermark = rows_updated_at;
    CB_ASSIGN_OR_RETURN(SnapshotWriter writer, raw.BeginSnapshot(dataset_.name, options));
    SocrataPages pages(http_, resource_url, headers, kSocrataPageRows, &result.requests);
    ManifestFile meta;
    meta.source_item = item;
    meta.source_url = resource_url;
    meta.rows_updated_at = rows_updated_at;
    CB_ASSIGN_OR_RETURN(ManifestFile entry, writer.AddFile(item, pages, meta));
    if (static_cast<int64_t>(entry.rows) != *expected) {
      writer.Abandon();
      return Fail(ErrorCode::kDataError,
                  resource_url + " returned " + FormatCount(static_cast<int64_t>(entry.rows)) +
                      " rows but count(*) says " + FormatCount(*expected) + "; nothing landed");
    }
    CB_ASSIGN_OR_RETURN(result.manifest, writer.Commit());
    result.landed = true;
    result.summary = dataset_.name + ": landed snapshot " + result.manifest.snapshot_id + ", " +
                     FormatCount(static_cast<int64_t>(entry.rows)) + " rows in " +
                     std::to_string(result.requests) + " requests";
    return result;
  }

 private:
  const DatasetConfig& dataset_;
  HttpClient& http_;
  std::string token_;
};

// --- CKAN -------------------------------------------------------------------------

// A file name for a resource: its name made safe, plus ".csv".
std::string ResourceFileName(const std::string& name, const std::string& id) {
  std::string out;
  for (char c : name.empty() ? id : name) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
    out.push_back(plain ? c : '-');
  }
  if (out.size() < 4 || AsciiLower(out.substr(out.size() - 4)) != ".csv") out += ".csv";
  return out;
}

class CkanSource : public Source {
 public:
  CkanSource(const DatasetConfig& dataset, HttpClient* http) : dataset_(dataset), http_(*http) {}

  Result<ExtractResult> Extract(RawZone& raw) override {
    ExtractResult result;
    std::string base = TrimSlash(dataset_.base_url);
    HttpRequest show{.url =
                         base + "/api/3/action/package_show?id=" + PercentEncode(dataset_.package)};
    CB_ASSIGN_OR_RETURN(Json package, FetchJson(http_, show, &result.requests));
    if (!package.value("success", false) || !package.contains("result") ||
        !package["result"].contains("resources") || !package["result"]["resources"].is_array())
      return Fail(ErrorCode::kDataError,
                  "GET " + show.url + " did not describe a package with resources; nothing landed");

    std::optional<SnapshotWriter> writer;
    int64_t rows = 0;
    int files = 0;
    for (const Json& resource : package["result"]["resources"]) {
      if (AsciiLower(resource.value("format", "")) != "csv") continue;
      std::string id = resource.value("id", "");
      std::string url = resource.value("url", "");
      if (id.empty() || url.empty()) continue;
      std::string last_modified =
          resource.contains("last_modified") && resource["last_modified"].is_string()
              ? resource["last_modified"].get<std::string>()
              : "";
      std::string hash = resource.contains("hash") && resource["hash"].is_string()
                             ? resource["hash"].get<std::string>()
                             : "";
      int64_t size = resource.contains("size") && resource["size"].is_number_integer()
                         ? resource["size"].get<int64_t>()
                         : -1;
      CB_ASSIGN_OR_RETURN(auto latest, raw.LatestFile(dataset_.name, id));
      // Unchanged by every marker the portal gives: skip without a request.
      if (latest && latest->last_modified == last_modified &&
          (size < 0 || static_cast<uint64_t>(size) == latest->bytes) &&
          (hash.empty() || latest->rows_updated_at == hash))
        continue;
      HttpRequest download{.url = url};
      if (latest && !latest->etag.empty())
        download.headers.emplace_back("If-None-Match", latest->etag);
      ++result.requests;
      CB_ASSIGN_OR_RETURN(HttpResponse answer, http_.Fetch(download));
      if (answer.status == 304) continue;
      CB_RETURN_IF_ERROR(CheckCsvAnswer(download, answer));
      if (!writer) {
        SnapshotOptions options;
        options.kind = "full";
        options.source_urls = {show.url};
        CB_ASSIGN_OR_RETURN(SnapshotWriter begun, raw.BeginSnapshot(dataset_.name, options));
        writer.emplace(std::move(begun));
      }
      ManifestFile meta;
      meta.source_item = id;
      meta.source_url = url;
      meta.etag = answer.Header("etag");
      meta.last_modified = last_modified;
      meta.rows_updated_at = hash;  // CKAN's hash marker travels in this slot
      std::string name = ResourceFileName(resource.value("name", ""), id);
      BodySource body(std::move(answer.body), url);
      CB_ASSIGN_OR_RETURN(ManifestFile entry, writer->AddFile(name, body, meta));
      rows += static_cast<int64_t>(entry.rows);
      ++files;
    }
    if (!writer) {
      result.summary = dataset_.name + ": no CSV resource changed (" +
                       std::to_string(result.requests) + " request" +
                       (result.requests == 1 ? "" : "s") + "); nothing landed";
      return result;
    }
    CB_ASSIGN_OR_RETURN(result.manifest, writer->Commit());
    result.landed = true;
    result.summary = dataset_.name + ": landed snapshot " + result.manifest.snapshot_id + ", " +
                     std::to_string(files) + " file" + (files == 1 ? "" : "s") + ", " +
                     FormatCount(rows) + " rows in " + std::to_string(result.requests) +
                     " requests";
    return result;
  }

 private:
  const DatasetConfig& dataset_;
  HttpClient& http_;
};

// --- One CSV URL ----------------------------------------------------------------------

class HttpSource : public Source {
 public:
  HttpSource(const DatasetConfig& dataset, HttpClient* http) : dataset_(dataset), http_(*http) {}

  Result<ExtractResult> Extract(RawZone& raw) override {
    ExtractResult result;
    const std::string& url = dataset_.url;
    CB_ASSIGN_OR_RETURN(auto latest, raw.LatestFile(dataset_.name, url));
    HttpRequest request{.url = url};
    if (latest && !latest->etag.empty())
      request.headers.emplace_back("If-None-Match", latest->etag);
    ++result.requests;
    CB_ASSIGN_OR_RETURN(HttpResponse answer, http_.Fetch(request));
    if (answer.status == 304) {
      result.summary = dataset_.name + ": " + url + " is unchanged (ETag); nothing landed";
      return result;
    }
    CB_RETURN_IF_ERROR(CheckCsvAnswer(request, answer));
    SnapshotOptions options;
    options.kind = "full";
    options.source_urls = {url};
    CB_ASSIGN_OR_RETURN(SnapshotWriter writer, raw.BeginSnapshot(dataset_.name, options));
    ManifestFile meta;
    meta.source_item = url;
    meta.source_url = url;
    meta.etag = answer.Header("etag");
    meta.last_modified = answer.Header("last-modified");
    std::string name = url.substr(url.find_last_of('/') + 1);
    name = ResourceFileName(name.substr(0, name.find('?')), "download");
    BodySource body(std::move(answer.body), url);
    CB_ASSIGN_OR_RETURN(ManifestFile entry, writer.AddFile(name, body, meta));
    if (latest && latest->sha256 == entry.sha256) {
      writer.Abandon();
      result.summary = dataset_.name + ": " + url + " is unchanged (sha256); nothing landed";
      return result;
    }
    CB_ASSIGN_OR_RETURN(result.manifest, writer.Commit());
    result.landed = true;
    result.summary = dataset_.name + ": landed snapshot " + result.manifest.snapshot_id + ", " +
                     FormatCount(static_cast<int64_t>(entry.rows)) + " rows";
    return result;
  }

 private:
  const DatasetConfig& dataset_;
  HttpClient& http_;
};

}  // namespace

// sftp_source.cc
Result<std::unique_ptr<Source>> MakeSftpSource(const DatasetConfig& dataset);

Result<std::unique_ptr<Source>> MakeSource(const DatasetConfig& dataset, HttpClient* http,
                                           const Environment& environment) {
  if (dataset.source == "socrata") {
    if (dataset.base_url.empty() || dataset.dataset_id.empty())
      return Fail(ErrorCode::kInvalidArgument,
                  "dataset " + dataset.name + " (socrata) needs base_url and dataset_id");
    return std::unique_ptr<Source>(std::make_unique<SocrataSource>(
        dataset, http, environment("SOCRATA_APP_TOKEN").value_or("")));
  }
  if (dataset.source == "ckan") {
    if (dataset.base_url.empty() || dataset.package.empty())
      return Fail(ErrorCode::kInvalidArgument,
                  "dataset " + dataset.name + " (ckan) needs base_url and package");
    return std::unique_ptr<Source>(std::make_unique<CkanSource>(dataset, http));
  }
  if (dataset.source == "http") {
    if (dataset.url.empty())
      return Fail(ErrorCode::kInvalidArgument, "dataset " + dataset.name + " (http) needs url");
    return std::unique_ptr<Source>(std::make_unique<HttpSource>(dataset, http));
  }
  if (dataset.source == "sftp") return MakeSftpSource(dataset);
  if (dataset.source == "file")
    return Fail(ErrorCode::kInvalidArgument,
                "dataset " + dataset.name +
                    " has source \"file\": land its files with `citybooks ingest` instead");
  return Fail(ErrorCode::kUnimplemented,
              "dataset " + dataset.name + ": the " + dataset.source +
                  " source is not available in this build; use socrata, ckan, http, sftp or file");
}

}  // namespace citybooks

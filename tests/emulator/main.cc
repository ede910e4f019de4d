// portal_emulator: serves CSV files as a Socrata dataset or a CKAN package on
// 127.0.0.1 until SIGINT or SIGTERM, for shell-level tests and for people.
//
//   portal_emulator --port 0 --socrata bpnb-jwfb=sf.csv --ckan city-checkbook=jul.csv,aug.csv
//   listening on 127.0.0.1:41873
//   portal_emulator --socrata bpnb-jwfb=sf.csv --fault /resource/:429:times=2 --throttle 5
//
// The first line on stdout is always "listening on 127.0.0.1:PORT"; the URLs
// of what is served follow. Exit status 0 after a signal, 2 on bad usage or an
// unreadable file, with one sentence on stderr.
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "emulator/csv_text.h"
#include "emulator/internal/reply.h"
#include "emulator/portal_emulator.h"

namespace {

using citybooks::emulator::CkanResource;
using citybooks::emulator::CsvFields;
using citybooks::emulator::PortalEmulator;
using citybooks::emulator::PortalEmulatorOptions;
using citybooks::emulator::PortalTime;
using citybooks::emulator::SocrataDataset;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read " + path + "; check the path and its permissions");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::chrono::sys_seconds ModifiedAt(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  }
  return std::chrono::sys_seconds{std::chrono::seconds{info.st_mtime}};
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Splits "NAME=VALUE" at the first '='.
std::pair<std::string, std::string> SplitAssignment(const std::string& text,
                                                    const std::string& option) {
  const size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) {
    throw UsageError(option + " expects NAME=FILE, got '" + text + "'");
  }
  return {text.substr(0, equals), text.substr(equals + 1)};
}

SocrataDataset ReadSocrataDataset(const std::string& path, bool crlf, bool quote_all) {
  std::vector<CsvFields> records = citybooks::emulator::ParseCsv(ReadFile(path));
  if (records.empty()) throw UsageError(path + " is empty; a Socrata dataset needs a header line");
  SocrataDataset dataset;
  dataset.columns = std::move(records.front());
  for (size_t i = 1; i < records.size(); ++i) {
    if (records[i].size() != dataset.columns.size()) {
      throw UsageError(path + " record " + std::to_string(i + 1) + " has " +
                       std::to_string(records[i].size()) + " fields but the header has " +
                       std::to_string(dataset.columns.size()) +
                       "; Socrata datasets are rectangular");
    }
    dataset.rows.push_back(std::move(records[i]));
  }
  dataset.rows_updated_at = ModifiedAt(path);
  dataset.crlf_line_ends = crlf;
  dataset.quote_all_fields = quote_all;
  return dataset;
}

// A UUID-shaped resource id, stable for a package and file name.
std::string ResourceId(const std::string& package, const std::string& file) {
  const std::string hex = citybooks::emulator::internal::Sha256Hex(package + "/" + file);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::vector<CkanResource> ReadCkanResources(const std::string& package, const std::string& files) {
  std::vector<CkanResource> resources;
  std::stringstream list(files);
  std::string path;
  while (std::getline(list, path, ',')) {
    if (path.empty()) continue;
    const std::string file = BaseName(path);
    const size_t dot = file.find_last_of('.');
    CkanResource resource;
    resource.id = ResourceId(package, file);
    resource.name = dot == std::string::npos ? file : file.substr(0, dot);
    resource.file_name = file;
    resource.bytes = ReadFile(path);
    resource.last_modified = PortalTime{ModifiedAt(path)};
    resources.push_back(std::move(resource));
  }
  if (resources.empty()) throw UsageError("--ckan " + package + " names no file");
  return resources;
}

// Parses "PREFIX:KIND[:times=N][:every=N]", e.g. "/resource/:429:times=2".
// KIND is a status code (429 gets Retry-After: 1), delay=MILLISECONDS, reset,
// truncated-gzip or html.
citybooks::emulator::FaultRule ParseFault(const std::string& spec) {
  using citybooks::emulator::Fault;
  using citybooks::emulator::FaultRule;
  std::vector<std::string> parts;
  std::stringstream stream(spec);
  for (std::string part; std::getline(stream, part, ':');) parts.push_back(part);
  auto bad = [&spec]() {
    return UsageError(
        "--fault expects PREFIX:KIND[:times=N][:every=N] with KIND a status, "
        "delay=MS, reset, truncated-gzip or html; got '" +
        spec + "'");
  };
  if (parts.size() < 2 || !parts[0].starts_with('/')) throw bad();
  auto number = [&](const std::string& text) {
    try {
      size_t used = 0;
      const int value = std::stoi(text, &used);
      if (used != text.size()) throw bad();
      return value;
    } catch (const std::logic_error&) {
      throw bad();
    }
  };
  FaultRule rule;
  rule.path_prefix = parts[0];
  const std::string& kind = parts[1];
  if (kind == "reset") {
    rule.fault = Fault::ResetMidBody();
  } else if (kind == "truncated-gzip") {
    rule.fault = Fault::TruncatedGzip();
  } else if (kind == "html") {
    rule.fault = Fault::HtmlErrorPage();
  } else if (kind.starts_with("delay=")) {
    rule.fault = Fault::Delay(std::chrono::milliseconds(number(kind.substr(6))));
  } else {
    const int status = number(kind);
    rule.fault = status == 429 ? Fault::TooManyRequests(1) : Fault::Status(status);
  }
  for (size_t i = 2; i < parts.size(); ++i) {
    if (parts[i] == "times=forever") {
      rule.times = FaultRule::kForever;
    } else if (parts[i].starts_with("times=")) {
      rule.times = number(parts[i].substr(6));
    } else if (parts[i].starts_with("every=")) {
      rule.every = number(parts[i].substr(6));
    } else {
      throw bad();
    }
  }
  if (rule.times < FaultRule::kForever || rule.every < 1) throw bad();
  return rule;
}

int Run(int argc, char** argv) {
  CLI::App app{"Serves CSV files as a Socrata dataset or a CKAN package on 127.0.0.1."};
  PortalEmulatorOptions options;
  std::vector<std::string> socrata;
  std::vector<std::string> ckan;
  std::vector<std::string> faults;
  bool crlf = false;
  bool quote_minimal = false;
  bool log = false;
  app.add_option("--port", options.port, "port to listen on; 0 picks a free one")
      ->capture_default_str();
  app.add_option("--socrata", socrata, "ID=FILE: serve FILE as Socrata dataset ID (repeatable)");
  app.add_option("--ckan", ckan,
                 "PACKAGE=FILE[,FILE...]: serve the files as resources of CKAN package "
                 "PACKAGE (repeatable)");
  app.add_option("--throttle", options.throttle_per_second,
                 "Socrata requests per second allowed without X-App-Token; 0 is no limit")
      ->capture_default_str();
  app.add_option("--socrata-max-limit", options.socrata_max_limit, "silent cap on $limit")
      ->capture_default_str();
  app.add_option("--ckan-max-limit", options.ckan_max_limit,
                 "silent cap on datastore_search's limit")
      ->capture_default_str();
  app.add_option("--fault", faults,
                 "PREFIX:KIND[:times=N][:every=N]: inject a fault (repeatable); KIND is a "
                 "status, delay=MS, reset, truncated-gzip or html, e.g. /resource/:429:times=2");
  app.add_flag("--crlf", crlf, "end Socrata CSV lines with CRLF");
  app.add_flag("--quote-minimal", quote_minimal,
               "quote Socrata CSV fields only when needed (default: every field)");
  app.add_flag("--log", log, "print one line per request on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (log) {
    options.on_request = [](const citybooks::emulator::RecordedRequest& request) {
      std::fprintf(stderr, "%s %s -> %d%s%s\n", request.method.c_str(), request.target.c_str(),
                   request.status, request.fault.empty() ? "" : " fault: ", request.fault.c_str());
    };
  }

  // Load every file before listening, so a bad argument never leaves a
  // half-served portal behind.
  std::vector<std::pair<std::string, SocrataDataset>> datasets;
  for (const std::string& argument : socrata) {
    auto [id, path] = SplitAssignment(argument, "--socrata");
    datasets.emplace_back(id, ReadSocrataDataset(path, crlf, !quote_minimal));
  }
  std::vector<citybooks::emulator::FaultRule> rules;
  for (const std::string& spec : faults) rules.push_back(ParseFault(spec));
  std::vector<std::pair<std::string, std::vector<CkanResource>>> packages;
  for (const std::string& argument : ckan) {
    auto [package, files] = SplitAssignment(argument, "--ckan");
    packages.emplace_back(package, ReadCkanResources(package, files));
  }

  // Block the stop signals before any thread starts, so every thread inherits
  // the mask and sigwait() below is the only receiver.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto started = PortalEmulator::Start(options);
  if (!started) throw UsageError(started.error());
  PortalEmulator& portal = **started;
  for (auto& [id, dataset] : datasets) portal.SetSocrataDataset(id, std::move(dataset));
  for (auto& [package, resources] : packages) {
    PortalTime newest{};
    for (const CkanResource& resource : resources) {
      newest = std::max(newest, *resource.last_modified);
    }
    portal.SetCkanPackage(package, std::move(resources), newest);
  }

  for (citybooks::emulator::FaultRule& rule : rules) portal.AddFault(std::move(rule));

  const std::string base = portal.base_url();
  std::printf("listening on 127.0.0.1:%d\n", portal.port());
  for (const auto& [id, dataset] : datasets) {
    std::printf("socrata %s: %s/resource/%s.csv %s/api/views/%s.json\n", id.c_str(), base.c_str(),
                id.c_str(), base.c_str(), id.c_str());
  }
  for (const auto& [package, resources] : packages) {
    std::printf("ckan %s: %s/api/3/action/package_show?id=%s\n", package.c_str(), base.c_str(),
                package.c_str());
  }
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  return 0;  // ~PortalEmulator stops the server
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "portal_emulator: %s\n", error.what());
    return 2;
  }
}

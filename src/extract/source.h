// Sources: how new data gets from a portal into the raw zone. Each source
// lands one snapshot per extract (nothing on failure or when nothing changed)
// and knows its portal's change markers, so an unchanged dataset costs one
// or two requests.
//
//   CB_ASSIGN_OR_RETURN(auto source, MakeSource(dataset_config, &http, env));
//   CB_ASSIGN_OR_RETURN(ExtractResult result, source->Extract(raw_zone));
#pragma once

#include <memory>
#include <string>

#include "common/error.h"
#include "config/config.h"
#include "net/http_client.h"
#include "rawzone/raw_zone.h"

namespace citybooks {

struct ExtractResult {
  bool landed = false;  // false: the source has nothing new
  Manifest manifest;    // the snapshot landed, when landed
  int requests = 0;     // HTTP requests made, retries excluded
  std::string summary;  // one line for the user
};

class Source {
 public:
  virtual ~Source() = default;
  // Lands what changed at the source since the newest snapshot of the
  // dataset in `raw` as one new snapshot. Fails (landing nothing) naming the
  // URL and cause when the source cannot be read completely and correctly.
  virtual Result<ExtractResult> Extract(RawZone& raw) = 0;
};

// The source `dataset.source` names: socrata, ckan, http or sftp (new CSV
// files of a remote folder; key auth, strict known_hosts; no HTTP). `http`
// must outlive the source. `environment` gives SOCRATA_APP_TOKEN. "file"
// datasets have no source (they are fed by `ingest`): kInvalidArgument saying
// so.
Result<std::unique_ptr<Source>> MakeSource(const DatasetConfig& dataset, HttpClient* http,
                                           const Environment& environment);

}  // namespace citybooks

// The CKAN half of the emulator as pure functions: a package is an immutable
// CkanPackageState (the server swaps whole snapshots), and each action or
// download turns a package and the query parameters into a Reply.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/csv_text.h"
#include "emulator/internal/reply.h"
#include "emulator/portal_emulator.h"
#include "emulator/time_text.h"

namespace citybooks::emulator::internal {

struct CkanResourceState {
  std::string id;
  std::string name;
  std::string format;
  std::string file_name;
  std::string hash;    // as package_show reports it
  std::string sha256;  // of bytes, always
  std::shared_ptr<const std::string> bytes;
  // The file parsed for the DataStore; records->front() is the header.
  std::shared_ptr<const std::vector<CsvFields>> records;
  PortalTime created;
  PortalTime last_modified;
};

struct CkanPackageState {
  std::string id;  // a UUID derived from the name
  std::string name;
  PortalTime metadata_created;
  PortalTime metadata_modified;
  std::vector<CkanResourceState> resources;
};

struct CkanLimits {
  int default_limit = 100;
  int max_limit = 32000;
};

// The package after uploading `resources` over `previous` (nullptr for a new
// package) at time `at`, with the rules of PortalEmulator::SetCkanPackage().
// Throws std::invalid_argument on an empty or repeated resource id.
CkanPackageState UploadCkanPackage(const CkanPackageState* previous, const std::string& name,
                                   std::vector<CkanResource> resources, PortalTime at);

// GET /api/3/action/package_show; resource URLs start with `base_url`.
Reply CkanPackageShowReply(const CkanPackageState& package, std::string_view base_url);
// GET /api/3/action/datastore_search for `resource`.
Reply CkanDatastoreSearchReply(const CkanResourceState& resource, const QueryParams& params,
                               const CkanLimits& limits, std::string_view base_url);
// GET /dataset/{package}/resource/{id}/download/{file}
Reply CkanDownloadReply(const CkanResourceState& resource);

// {"success": false, "error": {"message": message, "__type": "Not Found Error"}}
Reply CkanNotFoundReply(std::string_view action, const std::string& message,
                        std::string_view base_url);
// 409 {"success": false, "error": {field: [message], "__type": "Validation Error"}}
Reply CkanValidationErrorReply(std::string_view action, const std::string& field,
                               const std::string& message, std::string_view base_url);
// 400 for an action the emulator does not know.
Reply CkanUnknownActionReply(std::string_view action, std::string_view base_url);

}  // namespace citybooks::emulator::internal

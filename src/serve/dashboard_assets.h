// The dashboard's files (index.html, app.js, app.css, built from web/ at
// build time and embedded in the binary), with their content types and
// ETags, for `serve` to answer "/", "/app.js" and "/app.css".
//
//   if (const DashboardAsset* asset = FindDashboardAsset("/app.js"))
//     respond(asset->bytes, asset->content_type);
#pragma once

#include <string>
#include <string_view>

namespace citybooks {

struct DashboardAsset {
  std::string path;  // "/index.html", "/app.js", "/app.css"
  std::string content_type;
  std::string_view bytes;
  std::string etag;  // "\"<first 32 hex digits of the sha256>\""
};

// The asset served at `path` ("/" is index.html), or nullptr.
const DashboardAsset* FindDashboardAsset(std::string_view path);

}  // namespace citybooks

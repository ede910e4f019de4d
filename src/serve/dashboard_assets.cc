#include "serve/dashboard_assets.h"

#include <array>

#include "common/sha256.h"

// Defined in dashboard_assets.S.
#define CB_DECLARE_ASSET(symbol)          \
  extern "C" const char symbol##_begin[]; \
  extern "C" const char symbol##_end[]

CB_DECLARE_ASSET(citybooks_dashboard_index_html);
CB_DECLARE_ASSET(citybooks_dashboard_app_js);
CB_DECLARE_ASSET(citybooks_dashboard_app_css);

namespace citybooks {

namespace {

DashboardAsset Make(std::string path, std::string content_type, const char* begin,
                    const char* end) {
  DashboardAsset asset;
  asset.path = std::move(path);
  asset.content_type = std::move(content_type);
  asset.bytes = std::string_view(begin, static_cast<size_t>(end - begin));
  asset.etag = "\"" + Sha256Hex(asset.bytes).substr(0, 32) + "\"";
  return asset;
}

const std::array<DashboardAsset, 3>& Assets() {
  static const std::array<DashboardAsset, 3> assets = {
      Make("/index.html", "text/html; charset=utf-8", citybooks_dashboard_index_html_begin,
           citybooks_dashboard_index_html_end),
      Make("/app.js", "text/javascript; charset=utf-8", citybooks_dashboard_app_js_begin,
           citybooks_dashboard_app_js_end),
      Make("/app.css", "text/css; charset=utf-8", citybooks_dashboard_app_css_begin,
           citybooks_dashboard_app_css_end),
  };
  return assets;
}

}  // namespace

const DashboardAsset* FindDashboardAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const DashboardAsset& asset : Assets())
    if (asset.path == path) return &asset;
  return nullptr;
}

}  // namespace citybooks

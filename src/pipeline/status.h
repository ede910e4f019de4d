// `citybooks status`: per dataset, its snapshots, runs, watermark, facts,
// quarantine and last checks, gathered from the raw zone and the warehouse.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"

namespace citybooks {

// One JSON object per dataset; see docs in README ("status").
Result<nlohmann::json> CollectStatus(const PipelineContext& context,
                                     const std::vector<std::string>& datasets);

// The same as aligned text for a terminal.
std::string FormatStatus(const nlohmann::json& status);

}  // namespace citybooks

// `citybooks model` (placeholder until its issue lands).
#include "cli/commands.h"

namespace citybooks {

Status RunModel(const GlobalOptions&, const std::vector<std::string>&) {
  return NotYetAvailable("model");
}

}  // namespace citybooks

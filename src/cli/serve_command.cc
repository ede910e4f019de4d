// `citybooks serve` (placeholder until its issue lands).
#include "cli/commands.h"

namespace citybooks {

Status RunServe(const GlobalOptions&, const ServeOptions&) { return NotYetAvailable("serve"); }

}  // namespace citybooks

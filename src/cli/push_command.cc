// `citybooks push` (placeholder until its issue lands).
#include "cli/commands.h"

namespace citybooks {

Status RunPush(const GlobalOptions&, const PushOptions&) { return NotYetAvailable("push"); }

}  // namespace citybooks

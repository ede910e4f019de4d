// Helpers shared by the ObjectStore backends of this folder; not public API.
#pragma once

#include <memory>
#include <string_view>

#include "store/object_store.h"

namespace citybooks::store_internal {

// kInvalidArgument naming the key when it breaks the key rules of
// object_store.h (empty segments, "..", absolute, NUL, ".tmp-" segments).
Status ValidateObjectKey(std::string_view key);
Status ValidateObjectPrefix(std::string_view prefix);

// The process-wide memory store called `name` ("memory://name").
std::unique_ptr<ObjectStore> OpenNamedMemoryObjectStore(std::string_view name);

}  // namespace citybooks::store_internal

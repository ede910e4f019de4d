// Helpers shared by the ObjectStore backends of this folder; not public API.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "store/object_store.h"

namespace citybooks::store_internal {

// kInvalidArgument naming the key when it breaks the key rules of
// object_store.h (empty segments, "..", absolute, NUL, ".tmp-" segments).
Status ValidateObjectKey(std::string_view key);
Status ValidateObjectPrefix(std::string_view prefix);

// The process-wide memory store called `name` ("memory://name").
std::unique_ptr<ObjectStore> OpenNamedMemoryObjectStore(std::string_view name);

// The S3 store for "s3://bucket[/prefix]" (see OpenObjectStore). Tests shrink
// `list_page_size` (ListObjectsV2 max-keys, 1 to 1000) to make listings page.
Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(const std::string& url,
                                                       const ObjectStoreOptions& options,
                                                       int list_page_size = 1000);

}  // namespace citybooks::store_internal

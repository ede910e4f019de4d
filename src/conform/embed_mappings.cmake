# Writes OUTPUT: a C++ file defining BuiltInMappingTexts() from the TOML files
# in MAPPING_DIR, so the built-in mappings ship inside the binary.
file(GLOB files "${MAPPING_DIR}/*.toml")
list(SORT files)
set(body "")
foreach(file ${files})
  get_filename_component(name "${file}" NAME_WE)
  file(READ "${file}" text)
  string(APPEND body "      {\"${name}\", R\"cb_mapping(${text})cb_mapping\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from src/conform/mappings/*.toml; do not edit.
#include <map>
#include <string>
#include <string_view>

namespace citybooks {
const std::map<std::string, std::string_view>& BuiltInMappingTexts() {
  static const std::map<std::string, std::string_view> texts = {
${body}  };
  return texts;
}
}  // namespace citybooks
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)

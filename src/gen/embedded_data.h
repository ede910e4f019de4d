// Data files compiled into the binary (data/reference and data/sample, see
// embedded_data.S): the real San Francisco dimension members and the Phoenix
// sample rows, so generators and the bundled sample need no files at run time.
//
//   CB_ASSIGN_OR_RETURN(std::string_view csv, EmbeddedFile("reference/sf/program.csv"));
//   CsvReader reader(MakeViewSource(csv, "reference/sf/program.csv"));
#pragma once

#include <string_view>
#include <vector>

#include "common/error.h"

namespace citybooks {

// Returns the bytes of the embedded file `name`, a path relative to
// data/ (e.g. "reference/sf/type.csv"). The bytes live as long as the program.
// Returns kNotFound for a name that was not embedded.
Result<std::string_view> EmbeddedFile(std::string_view name);

// The names EmbeddedFile() accepts, in a fixed order.
std::vector<std::string_view> EmbeddedFileNames();

}  // namespace citybooks

// A CsvReader that parses on a background thread and hands records over in
// batches, so reading and parsing the next records overlaps with whatever the
// caller does with these. Same contract as CsvReader::Next; memory stays
// bounded (a few batches of records).
#pragma once

#include <memory>

#include "common/csv_reader.h"

namespace citybooks {

class PrefetchingCsvReader {
 public:
  explicit PrefetchingCsvReader(std::unique_ptr<ByteSource> source, CsvOptions options = {});
  ~PrefetchingCsvReader();
  PrefetchingCsvReader(const PrefetchingCsvReader&) = delete;
  PrefetchingCsvReader& operator=(const PrefetchingCsvReader&) = delete;

  // As CsvReader::Next. Views in *record stay valid until the next call.
  Result<bool> Next(CsvRecord* record);

  // Bytes the background reader has consumed so far (it runs ahead).
  uint64_t bytes_read() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citybooks

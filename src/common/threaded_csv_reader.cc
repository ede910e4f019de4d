#include "common/threaded_csv_reader.h"

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/handoff.h"

namespace citybooks {

namespace {

// Records parsed by the thread, their bytes copied out of the CsvReader's
// buffer. Views are kept as offsets into `bytes` until the batch is complete,
// since appending may move it.
struct Batch {
  struct Span {
    size_t offset;
    size_t size;
  };
  struct Record {
    Span raw;
    size_t first_field;  // into fields
    size_t field_count;
    uint64_t first_line;
    uint64_t last_line;
    uint64_t index;
    CsvProblem problem;
  };
  std::string bytes;
  std::vector<Record> records;
  std::vector<Span> fields;
  uint64_t bytes_read = 0;     // of the source, after the batch's last record
  bool last = false;           // nothing follows this batch
  std::optional<Error> error;  // why the input ended early, when it did

  void Clear() {
    bytes.clear();
    records.clear();
    fields.clear();
    bytes_read = 0;
    last = false;
    error.reset();
  }

  // Copies `record` in: its raw bytes once, and each field as a span of them
  // when it is one (the common case), else as bytes of its own.
  void Add(const CsvRecord& record) {
    const size_t raw_offset = bytes.size();
    bytes.append(record.raw);
    const char* raw_begin = record.raw.data();
    const char* raw_end = raw_begin + record.raw.size();
    records.push_back(Record{{raw_offset, record.raw.size()},
                             fields.size(),
                             record.fields.size(),
                             record.first_line,
                             record.last_line,
                             record.index,
                             record.problem});
    for (std::string_view field : record.fields) {
      if (field.data() >= raw_begin && field.data() + field.size() <= raw_end) {
        fields.push_back(
            {raw_offset + static_cast<size_t>(field.data() - raw_begin), field.size()});
      } else {
        fields.push_back({bytes.size(), field.size()});
        bytes.append(field);
      }
    }
  }
};

}  // namespace

class ThreadedCsvReader::Impl {
 public:
  Impl(std::unique_ptr<ByteSource> source, ThreadedCsvOptions options)
      : reader_(std::move(source), options.csv), name_(reader_.source_name()), options_(options) {
    thread_ = std::thread([this] { Produce(); });
  }

  ~Impl() {
    handoff_.Close();  // the thread finishes the batch it is filling
    thread_.join();
  }

  Result<bool> Next(CsvRecord* record) {
    while (current_ == nullptr || position_ == current_->records.size()) {
      if (current_ != nullptr) {
        if (current_->last) {
          if (current_->error) return std::unexpected(*current_->error);
          return false;
        }
        handoff_.Release(std::move(current_));
      }
      current_ = handoff_.Next();  // only the destructor closes the handoff
      position_ = 0;
    }
    const Batch& batch = *current_;
    const Batch::Record& from = batch.records[position_++];
    const char* bytes = batch.bytes.data();
    record->raw = std::string_view(bytes + from.raw.offset, from.raw.size);
    record->fields.resize(from.field_count);
    for (size_t i = 0; i < from.field_count; ++i) {
      const Batch::Span& span = batch.fields[from.first_field + i];
      record->fields[i] = std::string_view(bytes + span.offset, span.size);
    }
    record->first_line = from.first_line;
    record->last_line = from.last_line;
    record->index = from.index;
    record->problem = from.problem;
    if (position_ == batch.records.size()) bytes_read_ = batch.bytes_read;
    return true;
  }

  uint64_t bytes_read() const { return bytes_read_; }
  std::string_view source_name() const { return name_; }

 private:
  // The thread: fills batches until the input ends, fails, or the reader is
  // destroyed.
  void Produce() {
    CsvRecord record;
    while (std::unique_ptr<Batch> batch = handoff_.Acquire()) {
      batch->Clear();
      while (batch->records.size() < options_.max_batch_records &&
             batch->bytes.size() < options_.max_batch_bytes) {
        Result<bool> more = reader_.Next(&record);
        if (!more) {
          batch->error = more.error();
          batch->last = true;
          break;
        }
        if (!*more) {
          batch->last = true;
          break;
        }
        batch->Add(record);
      }
      batch->bytes_read = reader_.bytes_read();
      const bool last = batch->last;
      if (!handoff_.Publish(std::move(batch)) || last) return;
    }
  }

  CsvReader reader_;  // used by the thread only, once it has started
  const std::string name_;
  const ThreadedCsvOptions options_;
  // The batches waiting, plus the one being read and the one being filled.
  Handoff<Batch> handoff_{kBatchesInFlight + 2};

  // The caller's side.
  std::unique_ptr<Batch> current_;
  size_t position_ = 0;
  uint64_t bytes_read_ = 0;

  std::thread thread_;  // last: starts once everything above exists
};

ThreadedCsvReader::ThreadedCsvReader(std::unique_ptr<ByteSource> source, ThreadedCsvOptions options)
    : impl_(std::make_unique<Impl>(std::move(source), options)) {}

ThreadedCsvReader::~ThreadedCsvReader() = default;

Result<bool> ThreadedCsvReader::Next(CsvRecord* record) { return impl_->Next(record); }

uint64_t ThreadedCsvReader::bytes_read() const { return impl_->bytes_read(); }

std::string_view ThreadedCsvReader::source_name() const { return impl_->source_name(); }

}  // namespace citybooks

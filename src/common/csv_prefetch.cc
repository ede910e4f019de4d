#include "common/csv_prefetch.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace citybooks {

namespace {

// Records copied out of the reader's buffer: their bytes in one arena.
struct RecordBatch {
  struct Stored {
    uint64_t first_line, last_line, index;
    CsvProblem problem;
    size_t raw_offset, raw_size;
    size_t first_field, field_count;
  };
  std::string arena;
  std::vector<std::pair<size_t, size_t>> fields;  // (offset, size) in arena
  std::vector<Stored> records;
  bool last = false;           // no batch follows
  std::optional<Error> error;  // the reader failed after these records
};

constexpr size_t kBatchRecords = 2048;
constexpr size_t kMaxQueuedBatches = 4;

}  // namespace

class PrefetchingCsvReader::Impl {
 public:
  Impl(std::unique_ptr<ByteSource> source, CsvOptions options)
      : reader_(std::move(source), options), thread_([this] { Produce(); }) {}

  ~Impl() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    space_.notify_all();
    thread_.join();
  }

  Result<bool> Next(CsvRecord* record) {
    while (current_ == nullptr || position_ >= current_->records.size()) {
      if (current_ != nullptr && (current_->last || current_->error)) {
        if (current_->error) return Fail(*current_->error);
        return false;
      }
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return !queue_.empty(); });
      current_ = std::make_unique<RecordBatch>(std::move(queue_.front()));
      queue_.pop_front();
      position_ = 0;
      space_.notify_one();
    }
    const RecordBatch::Stored& stored = current_->records[position_++];
    record->fields.clear();
    for (size_t f = 0; f < stored.field_count; ++f) {
      const auto& [offset, size] = current_->fields[stored.first_field + f];
      record->fields.emplace_back(current_->arena.data() + offset, size);
    }
    record->raw = std::string_view(current_->arena.data() + stored.raw_offset, stored.raw_size);
    record->first_line = stored.first_line;
    record->last_line = stored.last_line;
    record->index = stored.index;
    record->problem = stored.problem;
    return true;
  }

  uint64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }

 private:
  void Produce() {
    CsvRecord record;
    RecordBatch batch;
    while (true) {
      auto more = reader_.Next(&record);
      if (!more || !*more) {
        if (!more) batch.error = more.error();
        batch.last = true;
        Push(std::move(batch));
        return;
      }
      RecordBatch::Stored stored{record.first_line,   record.last_line,    record.index,
                                 record.problem,      batch.arena.size(),  record.raw.size(),
                                 batch.fields.size(), record.fields.size()};
      batch.arena.append(record.raw);
      for (std::string_view field : record.fields) {
        batch.fields.emplace_back(batch.arena.size(), field.size());
        batch.arena.append(field);
      }
      batch.records.push_back(stored);
      if (batch.records.size() >= kBatchRecords) {
        bytes_read_.store(reader_.bytes_read(), std::memory_order_relaxed);
        if (!Push(std::move(batch))) return;
        batch = RecordBatch();
      }
    }
  }

  // Queues a batch, waiting for room; false when the consumer went away.
  bool Push(RecordBatch batch) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return queue_.size() < kMaxQueuedBatches || stopping_; });
    if (stopping_) return false;
    queue_.push_back(std::move(batch));
    ready_.notify_one();
    return true;
  }

  CsvReader reader_;
  std::atomic<uint64_t> bytes_read_{0};
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<RecordBatch> queue_;
  bool stopping_ = false;
  std::unique_ptr<RecordBatch> current_;
  size_t position_ = 0;
  std::thread thread_;  // last: starts after everything it uses exists
};

PrefetchingCsvReader::PrefetchingCsvReader(std::unique_ptr<ByteSource> source, CsvOptions options)
    : impl_(std::make_unique<Impl>(std::move(source), options)) {}
PrefetchingCsvReader::~PrefetchingCsvReader() = default;
Result<bool> PrefetchingCsvReader::Next(CsvRecord* record) { return impl_->Next(record); }
uint64_t PrefetchingCsvReader::bytes_read() const { return impl_->bytes_read(); }

}  // namespace citybooks

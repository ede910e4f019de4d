#include "common/csv_reader.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace citybooks {

namespace {

constexpr unsigned char kBom[] = {0xEF, 0xBB, 0xBF};

// The read buffer has this many readable bytes past its capacity, so the
// 16-byte scans may load past the end of the data without a scalar tail.
constexpr size_t kPadding = 16;

// Room beyond one read for the unfinished record carried over to the next
// read, so a buffer of typical records never has to grow.
constexpr size_t kCarryOverSlack = size_t{64} << 10;

// Returns the first byte in [p, limit) that is `delimiter` or a line feed, or
// `limit` if there is none. May read up to 15 bytes past `limit`; the caller
// guarantees they are readable (the read buffer's padding).
inline const char* FindDelimiterOrNewline(const char* p, const char* limit, char delimiter) {
#if defined(__SSE2__)
  const __m128i delimiters = _mm_set1_epi8(delimiter);
  const __m128i newlines = _mm_set1_epi8('\n');
  while (p < limit) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(bytes, delimiters), _mm_cmpeq_epi8(bytes, newlines))));
    if (mask != 0) return std::min(p + __builtin_ctz(mask), limit);
    p += 16;
  }
  return limit;
#else
  while (p < limit && *p != delimiter && *p != '\n') ++p;
  return p;
#endif
}

// Counts line feeds in [p, end); reads nothing outside it.
inline uint64_t CountNewlines(const char* p, const char* end) {
  uint64_t count = 0;
#if defined(__SSE2__)
  const __m128i newlines = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    // Per-byte counters hold up to 255 blocks before they must be summed.
    const size_t blocks = std::min<size_t>(static_cast<size_t>(end - p) / 16, 255);
    __m128i counters = _mm_setzero_si128();
    for (size_t i = 0; i < blocks; ++i, p += 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      counters = _mm_sub_epi8(counters, _mm_cmpeq_epi8(bytes, newlines));
    }
    const __m128i sums = _mm_sad_epu8(counters, _mm_setzero_si128());
    count += static_cast<uint64_t>(_mm_extract_epi16(sums, 0) + _mm_extract_epi16(sums, 4));
  }
#endif
  while (p < end) count += (*p++ == '\n');
  return count;
}

// Appends the value of a field whose raw text starts with a quote: doubled
// quotes collapse, the closing quote goes, and whatever follows the closing
// quote is kept literally. A missing closing quote keeps everything.
void AppendUnquoted(std::string* out, std::string_view raw) {
  size_t position = 1;
  while (true) {
    size_t quote = raw.find('"', position);
    if (quote == std::string_view::npos) {
      out->append(raw.substr(position));
      return;
    }
    out->append(raw.substr(position, quote - position));
    if (quote + 1 < raw.size() && raw[quote + 1] == '"') {
      out->push_back('"');
      position = quote + 2;
      continue;
    }
    out->append(raw.substr(quote + 1));
    return;
  }
}

}  // namespace

// The reader keeps one buffer. The record being scanned starts at begin_;
// when the scan reaches the end of the bytes read, the unfinished record moves
// to the front and the next read appends to it, and the scan resumes where it
// stopped (its state is kept as offsets from the record start). The buffer
// never grows beyond max_record_bytes + 2 + read_bytes: a record found to be
// longer keeps only its first max_record_bytes bytes while the rest is read
// through the space after them and dropped.
class CsvReader::Impl {
 public:
  Impl(std::unique_ptr<ByteSource> source, CsvOptions options)
      : source_(std::move(source)), options_(options) {
    assert(options_.delimiter != '"' && options_.delimiter != '\n' && options_.delimiter != '\r');
    // Keep the buffer arithmetic below free of overflow.
    constexpr size_t kLargest = size_t{1} << (sizeof(size_t) * 8 - 4);
    options_.read_bytes = std::clamp<size_t>(options_.read_bytes, 1, kLargest);
    options_.max_record_bytes = std::min(options_.max_record_bytes, kLargest);
    max_capacity_ = options_.max_record_bytes + 2 + options_.read_bytes;
  }

  Result<bool> Next(CsvRecord* record);
  uint64_t bytes_read() const { return bytes_read_; }
  std::string_view source_name() const { return source_->name(); }

 private:
  // Where the scan stands in the CSV grammar.
  enum class State : uint8_t {
    kFieldStart,     // at the start of a field
    kUnquoted,       // in an unquoted field, or in text after a closing quote
    kQuoted,         // in a quoted field
    kQuoteInQuoted,  // just after a quote inside a quoted field
  };
  enum class ScanOutcome : uint8_t { kComplete, kNeedMore, kTooLong };
  enum class FieldKind : uint8_t {
    kPlain,    // the value is the raw text
    kQuoted,   // the value is the raw text without its surrounding quotes
    kEscaped,  // doubled quotes or text after the closing quote: needs a copy
  };
  // A field's raw text as offsets from the record start.
  struct FieldSpan {
    size_t begin;
    size_t end;
    FieldKind kind;
  };

  ScanOutcome Scan();
  CsvProblem CloseAtEndOfInput();
  bool SkipScan(State* state, size_t* position);
  Status SkipRestOfRecord();
  Status Refill();
  void Grow(size_t needed);
  Error WithSourceName(const Error& error) const;
  void EmitFields(CsvRecord* record, CsvProblem problem);
  void EmitTooLong(CsvRecord* record);
  void FinishRecord(CsvRecord* record, CsvProblem problem);

  std::unique_ptr<ByteSource> source_;
  CsvOptions options_;
  size_t max_capacity_ = 0;
  std::unique_ptr<char[]> buffer_;  // capacity_ + kPadding bytes
  size_t capacity_ = 0;
  size_t begin_ = 0;  // start of the current record
  size_t end_ = 0;    // end of the bytes read
  bool eof_ = false;
  bool bom_checked_ = false;
  uint64_t bytes_read_ = 0;
  uint64_t line_ = 1;  // line where the current record starts
  uint64_t index_ = 0;

  // The scan of the current record; offsets are from begin_.
  State state_ = State::kFieldStart;
  size_t scan_ = 0;
  size_t field_begin_ = 0;
  FieldKind field_kind_ = FieldKind::kPlain;
  uint64_t inner_newlines_ = 0;  // line feeds inside quoted fields
  size_t content_end_ = 0;       // the record's length without its line end
  size_t record_end_ = 0;        // ... and with it
  std::vector<FieldSpan> spans_;
  std::string scratch_;  // values of kEscaped fields
};

Result<bool> CsvReader::Impl::Next(CsvRecord* record) {
  state_ = State::kFieldStart;
  scan_ = 0;
  inner_newlines_ = 0;
  spans_.clear();
  if (!bom_checked_) {
    while (end_ - begin_ < sizeof(kBom) && !eof_) CB_RETURN_IF_ERROR(Refill());
    if (end_ - begin_ >= sizeof(kBom) &&
        std::memcmp(buffer_.get() + begin_, kBom, sizeof(kBom)) == 0) {
      begin_ += sizeof(kBom);
    }
    bom_checked_ = true;
  }
  while (true) {
    switch (Scan()) {
      case ScanOutcome::kComplete:
        if (content_end_ > options_.max_record_bytes) {
          EmitTooLong(record);
        } else {
          EmitFields(record, CsvProblem::kNone);
        }
        return true;
      case ScanOutcome::kTooLong:
        CB_RETURN_IF_ERROR(SkipRestOfRecord());
        EmitTooLong(record);
        return true;
      case ScanOutcome::kNeedMore:
        break;
    }
    if (eof_) {
      if (end_ == begin_) return false;
      content_end_ = record_end_ = end_ - begin_;
      CsvProblem problem = CloseAtEndOfInput();
      if (content_end_ > options_.max_record_bytes) {
        EmitTooLong(record);
      } else {
        EmitFields(record, problem);
      }
      return true;
    }
    CB_RETURN_IF_ERROR(Refill());
  }
}

// Scans the record at begin_ from where the last scan stopped, collecting
// field spans, until its line end, the end of the bytes read, or
// max_record_bytes + 2 bytes (past which it is too long whatever follows).
CsvReader::Impl::ScanOutcome CsvReader::Impl::Scan() {
  const char* const base = buffer_.get() + begin_;
  const char* const limit = base + std::min(end_ - begin_, options_.max_record_bytes + 2);
  const char delimiter = options_.delimiter;
  const char* p = base + scan_;
  State state = state_;
  while (true) {
    switch (state) {
      case State::kFieldStart:
        if (p == limit) goto suspend;
        field_begin_ = static_cast<size_t>(p - base);
        if (*p == '"') {
          field_kind_ = FieldKind::kQuoted;
          ++p;
          state = State::kQuoted;
          continue;
        }
        field_kind_ = FieldKind::kPlain;
        state = State::kUnquoted;
        [[fallthrough]];
      case State::kUnquoted: {
        p = FindDelimiterOrNewline(p, limit, delimiter);
        if (p == limit) goto suspend;
        size_t end = static_cast<size_t>(p - base);
        if (*p == delimiter) {
          spans_.push_back({field_begin_, end, field_kind_});
          ++p;
          state = State::kFieldStart;
          continue;
        }
        record_end_ = end + 1;
        if (end > field_begin_ && p[-1] == '\r') --end;
        spans_.push_back({field_begin_, end, field_kind_});
        content_end_ = end;
        return ScanOutcome::kComplete;
      }
      case State::kQuoted: {
        const char* quote = static_cast<const char*>(std::memchr(p, '"', limit - p));
        if (quote == nullptr) {
          inner_newlines_ += CountNewlines(p, limit);
          p = limit;
          goto suspend;
        }
        inner_newlines_ += CountNewlines(p, quote);
        p = quote + 1;
        state = State::kQuoteInQuoted;
        [[fallthrough]];
      }
      case State::kQuoteInQuoted: {
        if (p == limit) goto suspend;
        const size_t end = static_cast<size_t>(p - base);
        if (*p == delimiter) {
          spans_.push_back({field_begin_, end, field_kind_});
          ++p;
          state = State::kFieldStart;
          continue;
        }
        if (*p == '\n' || (*p == '\r' && p + 1 < limit && p[1] == '\n')) {
          spans_.push_back({field_begin_, end, field_kind_});
          content_end_ = end;
          record_end_ = end + (*p == '\n' ? 1 : 2);
          return ScanOutcome::kComplete;
        }
        field_kind_ = FieldKind::kEscaped;
        if (*p == '"') {
          ++p;
          state = State::kQuoted;
        } else {
          state = State::kUnquoted;  // text after the closing quote
        }
        continue;
      }
    }
  }
suspend:
  state_ = state;
  scan_ = static_cast<size_t>(p - base);
  return scan_ >= options_.max_record_bytes + 2 ? ScanOutcome::kTooLong : ScanOutcome::kNeedMore;
}

// Ends the last field of a record cut by the end of the input.
CsvProblem CsvReader::Impl::CloseAtEndOfInput() {
  const size_t end = end_ - begin_;
  switch (state_) {
    case State::kFieldStart:
      spans_.push_back({end, end, FieldKind::kPlain});
      break;
    case State::kUnquoted:
    case State::kQuoteInQuoted:
      spans_.push_back({field_begin_, end, field_kind_});
      break;
    case State::kQuoted:
      spans_.push_back({field_begin_, end, FieldKind::kEscaped});
      return CsvProblem::kUnterminatedQuote;
  }
  return CsvProblem::kNone;
}

// Follows the grammar over [*position, end_) without collecting fields.
// Returns true, with *position just past it, at the line feed ending the
// record.
bool CsvReader::Impl::SkipScan(State* state_in_out, size_t* position) {
  const char* const buffer = buffer_.get();
  const char* const end = buffer + end_;
  const char delimiter = options_.delimiter;
  const char* p = buffer + *position;
  State state = *state_in_out;
  bool found = false;
  while (p < end && !found) {
    switch (state) {
      case State::kFieldStart:
        if (*p == '"') {
          ++p;
          state = State::kQuoted;
          break;
        }
        state = State::kUnquoted;
        [[fallthrough]];
      case State::kUnquoted:
        p = FindDelimiterOrNewline(p, end, delimiter);
        if (p == end) break;
        found = *p == '\n';
        ++p;
        state = State::kFieldStart;
        break;
      case State::kQuoted: {
        const char* quote = static_cast<const char*>(std::memchr(p, '"', end - p));
        const char* stop = quote != nullptr ? quote : end;
        inner_newlines_ += CountNewlines(p, stop);
        p = stop;
        if (quote != nullptr) {
          ++p;
          state = State::kQuoteInQuoted;
        }
        break;
      }
      case State::kQuoteInQuoted:
        if (*p == '"') {
          ++p;
          state = State::kQuoted;
        } else if (*p == delimiter) {
          ++p;
          state = State::kFieldStart;
        } else if (*p == '\n') {
          ++p;
          found = true;
        } else {
          state = State::kUnquoted;
        }
        break;
    }
  }
  *state_in_out = state;
  *position = static_cast<size_t>(p - buffer);
  return found;
}

// Reads through the rest of a record found too long, keeping only its first
// max_record_bytes bytes: the bytes after them are reused for each read.
Status CsvReader::Impl::SkipRestOfRecord() {
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const size_t keep = options_.max_record_bytes;
  size_t position = scan_;  // past `keep`: the scan stopped at keep + 2
  State state = state_;
  while (!SkipScan(&state, &position)) {
    if (eof_) break;
    end_ = keep;
    position = keep;
    CB_RETURN_IF_ERROR(Refill());
  }
  content_end_ = keep;
  record_end_ = position;
  return Ok();
}

// Moves the unfinished record to the front of the buffer and appends one read.
Status CsvReader::Impl::Refill() {
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < options_.read_bytes) Grow(end_ + options_.read_bytes);
  const size_t wanted = std::min(options_.read_bytes, capacity_ - end_);
  Result<size_t> got = source_->Read(buffer_.get() + end_, wanted);
  if (!got) return Fail(WithSourceName(got.error()));
  if (*got > wanted) {
    return Fail(ErrorCode::kInternal,
                std::string(source_->name()) + ": the source returned more bytes than asked for");
  }
  if (*got == 0) {
    eof_ = true;
  } else {
    end_ += *got;
    bytes_read_ += *got;
  }
  return Ok();
}

void CsvReader::Impl::Grow(size_t needed) {
  size_t capacity = capacity_ == 0 ? options_.read_bytes + kCarryOverSlack : capacity_ * 2;
  capacity = std::min(max_capacity_, std::max(capacity, needed));
  auto buffer = std::make_unique<char[]>(capacity + kPadding);
  if (end_ > 0) std::memcpy(buffer.get(), buffer_.get(), end_);
  buffer_ = std::move(buffer);
  capacity_ = capacity;
}

// Sources usually name themselves in their messages; add the name otherwise.
Error CsvReader::Impl::WithSourceName(const Error& error) const {
  if (error.message().find(source_->name()) != std::string::npos) return error;
  return error.WithContext(source_->name());
}

void CsvReader::Impl::EmitFields(CsvRecord* record, CsvProblem problem) {
  const char* const base = buffer_.get() + begin_;
  record->fields.resize(spans_.size());
  scratch_.clear();
  bool reserved = false;
  for (size_t i = 0; i < spans_.size(); ++i) {
    const FieldSpan& span = spans_[i];
    switch (span.kind) {
      case FieldKind::kPlain:
        record->fields[i] = std::string_view(base + span.begin, span.end - span.begin);
        break;
      case FieldKind::kQuoted:
        record->fields[i] = std::string_view(base + span.begin + 1, span.end - span.begin - 2);
        break;
      case FieldKind::kEscaped: {
        // No value is longer than its raw text, so this reservation keeps the
        // views into scratch_ valid while the record's other values append.
        if (!reserved) scratch_.reserve(content_end_);
        reserved = true;
        const size_t start = scratch_.size();
        AppendUnquoted(&scratch_, std::string_view(base + span.begin, span.end - span.begin));
        record->fields[i] = std::string_view(scratch_.data() + start, scratch_.size() - start);
        break;
      }
    }
  }
  record->raw = std::string_view(base, content_end_);
  FinishRecord(record, problem);
}

void CsvReader::Impl::EmitTooLong(CsvRecord* record) {
  record->fields.clear();
  record->raw =
      std::string_view(buffer_.get() + begin_, std::min(content_end_, options_.max_record_bytes));
  FinishRecord(record, CsvProblem::kTooLong);
}

void CsvReader::Impl::FinishRecord(CsvRecord* record, CsvProblem problem) {
  record->problem = problem;
  record->first_line = line_;
  record->last_line = line_ + inner_newlines_;
  record->index = index_++;
  line_ = record->last_line + 1;
  // The record's bytes stay where they are until the next call moves them.
  begin_ += record_end_;
}

CsvReader::CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options)
    : impl_(std::make_unique<Impl>(std::move(source), options)) {}

CsvReader::~CsvReader() = default;

Result<bool> CsvReader::Next(CsvRecord* record) { return impl_->Next(record); }

uint64_t CsvReader::bytes_read() const { return impl_->bytes_read(); }

std::string_view CsvReader::source_name() const { return impl_->source_name(); }

void CsvRecordCounter::Feed(std::string_view chunk) {
  const char* p = chunk.data();
  const char* const end = p + chunk.size();
  while (!past_bom_ && p < end) {
    if (static_cast<unsigned char>(*p) == kBom[bom_bytes_matched_]) {
      ++p;
      past_bom_ = ++bom_bytes_matched_ == sizeof(kBom);
    } else {
      // The bytes that looked like a BOM are the start of the first field.
      past_bom_ = true;
      if (bom_bytes_matched_ > 0) state_ = State::kUnquoted;
    }
  }
  const char delimiter = delimiter_;
  State state = state_;
  uint64_t records = records_;
  while (p < end) {
    switch (state) {
      case State::kRecordStart:
      case State::kFieldStart:
        if (*p == '"') {
          ++p;
          state = State::kQuoted;
          break;
        }
        [[fallthrough]];
      case State::kUnquoted: {
        // Outside quotes only line feeds matter, up to the next quote, which
        // opens a quoted field only right after a delimiter or a line end.
        const char* quote = static_cast<const char*>(std::memchr(p, '"', end - p));
        const char* stop = quote != nullptr ? quote : end;
        if (stop > p) {
          records += CountNewlines(p, stop);
          const char last = stop[-1];
          state = last == '\n'        ? State::kRecordStart
                  : last == delimiter ? State::kFieldStart
                                      : State::kUnquoted;
        }
        p = stop;
        if (quote != nullptr) {
          if (state != State::kUnquoted) state = State::kQuoted;
          ++p;
        }
        break;
      }
      case State::kQuoted: {
        const char* quote = static_cast<const char*>(std::memchr(p, '"', end - p));
        if (quote == nullptr) {
          p = end;
        } else {
          p = quote + 1;
          state = State::kQuoteInQuoted;
        }
        break;
      }
      case State::kQuoteInQuoted:
        if (*p == '"') {
          ++p;
          state = State::kQuoted;
        } else if (*p == '\n') {
          ++p;
          ++records;
          state = State::kRecordStart;
        } else if (*p == delimiter) {
          ++p;
          state = State::kFieldStart;
        } else {
          state = State::kUnquoted;  // text after the closing quote
        }
        break;
    }
  }
  state_ = state;
  records_ = records;
}

uint64_t CsvRecordCounter::Finish() {
  const bool partial_record =
      state_ != State::kRecordStart || (!past_bom_ && bom_bytes_matched_ > 0);
  return records_ + (partial_record ? 1 : 0);
}

void AppendCsvField(std::string* out, std::string_view value, char delimiter) {
  const bool needs_quotes = value.find_first_of(delimiter) != std::string_view::npos ||
                            value.find_first_of("\"\r\n") != std::string_view::npos;
  if (!needs_quotes) {
    out->append(value);
    return;
  }
  out->push_back('"');
  for (char c : value) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof(word));
      if ((word & 0x8080808080808080u) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned char lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    // Continuation bytes needed, and the range of the first one, which rules
    // out overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    ptrdiff_t continuation = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      continuation = 1;
    } else if (lead == 0xE0) {
      continuation = 2;
      low = 0xA0;
    } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
      continuation = 2;
    } else if (lead == 0xED) {
      continuation = 2;
      high = 0x9F;
    } else if (lead == 0xF0) {
      continuation = 3;
      low = 0x90;
    } else if (lead >= 0xF1 && lead <= 0xF3) {
      continuation = 3;
    } else if (lead == 0xF4) {
      continuation = 3;
      high = 0x8F;
    } else {
      return false;
    }
    if (end - p <= continuation) return false;
    if (p[1] < low || p[1] > high) return false;
    for (ptrdiff_t i = 2; i <= continuation; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += continuation + 1;
  }
  return true;
}

}  // namespace citybooks

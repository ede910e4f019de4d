#include "common/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace citybooks {

namespace {

std::string ErrnoText(int error) { return std::generic_category().message(error); }

// Reads a local file with plain POSIX read(2): no stdio buffering, since every
// caller already reads in large blocks.
class FileSource : public ByteSource {
 public:
  FileSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  Result<size_t> Read(char* buffer, size_t size) override {
    while (true) {
      ssize_t n = ::read(fd_, buffer, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIoError, "cannot read " + path_ + ": " + ErrnoText(errno));
    }
  }

  std::string_view name() const override { return path_; }

 private:
  int fd_;
  std::string path_;
};

// Serves bytes from a view; the owning variant keeps the string alive.
class ViewSource : public ByteSource {
 public:
  ViewSource(std::string_view bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {}

  Result<size_t> Read(char* buffer, size_t size) override {
    size_t n = std::min(size, bytes_.size() - position_);
    if (n > 0) std::memcpy(buffer, bytes_.data() + position_, n);
    position_ += n;
    return n;
  }

  std::string_view name() const override { return name_; }

 protected:
  void Rebind(std::string_view bytes) { bytes_ = bytes; }

 private:
  std::string_view bytes_;
  size_t position_ = 0;
  std::string name_;
};

class StringSource : public ViewSource {
 public:
  StringSource(std::string bytes, std::string name)
      : ViewSource({}, std::move(name)), bytes_(std::move(bytes)) {
    Rebind(bytes_);
  }
  StringSource(const StringSource&) = delete;
  StringSource& operator=(const StringSource&) = delete;

 private:
  std::string bytes_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return Fail(ErrorCode::kNotFound, "no such file: " + path);
    }
    return Fail(ErrorCode::kIoError, "cannot open " + path + ": " + ErrnoText(error));
  }
  // open(2) succeeds on a directory and read(2) fails later; say so now.
  struct stat info {};
  int error = ::fstat(fd, &info) != 0 ? errno : S_ISDIR(info.st_mode) ? EISDIR : 0;
  if (error != 0) {
    ::close(fd);
    return Fail(ErrorCode::kIoError, "cannot open " + path + ": " + ErrnoText(error));
  }
  return std::make_unique<FileSource>(fd, path);
}

std::unique_ptr<ByteSource> MakeStringSource(std::string bytes, std::string name) {
  return std::make_unique<StringSource>(std::move(bytes), std::move(name));
}

std::unique_ptr<ByteSource> MakeViewSource(std::string_view bytes, std::string name) {
  return std::make_unique<ViewSource>(bytes, std::move(name));
}

}  // namespace citybooks

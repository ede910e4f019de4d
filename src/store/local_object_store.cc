// The local-folder backend. A key is a path under the root folder, which
// the first Put (or CreateRoot) creates. Put writes a hidden temporary file
// next to its target (".tmp-<random>-<name>"), fsyncs it, renames it over the
// key and fsyncs the folder, so a reader or a crash sees the old object or the
// new one, never a part; List skips the temporary files. Delete removes
// folders it leaves empty.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "store/internal/store_internal.h"
#include "store/object_store.h"

namespace citybooks {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTemporaryPrefix = ".tmp-";
constexpr size_t kMaxFileNameBytes = 255;

std::string ErrnoText(int error) { return std::generic_category().message(error); }

std::unexpected<Error> IoError(std::string_view action, const std::string& path, int error) {
  std::string message = "Cannot ";
  message += action;
  message += " '";
  message += path;
  message += "': ";
  message += ErrnoText(error);
  message += ".";
  return Fail(ErrorCode::kIoError, std::move(message));
}

std::string RandomHex(size_t digits) {
  static std::mutex mutex;
  static std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  std::lock_guard lock(mutex);
  for (char& c : out) c = kHex[engine() & 0xf];
  return out;
}

// Closes a file descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Gives up ownership without closing.
  int Release() { return std::exchange(fd_, -1); }
  // Closes now and reports the result (close can report a failed write).
  int Close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

Status SyncFolder(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open folder", path, errno);
  FileDescriptor folder(fd);
  // Some file systems cannot fsync a folder; that is not a failed write.
  if (::fsync(folder.get()) != 0 && errno != EINVAL && errno != ENOTSUP) {
    return IoError("sync folder", path, errno);
  }
  return Ok();
}

// Objects are written, and large ones read, with O_DIRECT where the file
// system allows it: bytes move between the disk and a buffer of our own
// instead of through the page cache. A raw file is written once and read
// rarely, so caching it buys little, while filling the cache with it costs
// more than the copy: every new cache page has to be allocated and mapped (on
// a virtual machine, often faulted in by the host). Measured on the 2-core VM
// of docs/BENCHMARKS.md: 336 MB written and synced in 0.13 s direct against
// 0.3 to 0.9 s through the cache. Direct transfers need aligned buffers,
// offsets and lengths; the unaligned tail of a file goes through the cache.
constexpr size_t kDirectAlignment = 4096;
constexpr size_t kDirectBufferBytes = size_t{1} << 20;

// A buffer aligned for direct transfers.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t size)
      : data_(static_cast<char*>(std::aligned_alloc(kDirectAlignment, size))), size_(size) {
    if (data_ == nullptr) throw std::bad_alloc();
  }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  char* data_;
  size_t size_;
};

// Turns O_DIRECT off for the rest of a file's transfers (for an unaligned
// tail, or where the file system refused a direct transfer after all).
void StopDirect(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags & ~O_DIRECT);
}

// Writes all of `data` to a file that may be open with O_DIRECT: where the file system
// refuses a direct write, O_DIRECT goes and the rest is written through the
// cache.
Status WriteBlocks(int fd, const char* data, size_t size, bool* direct, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && *direct) {
        StopDirect(fd);
        *direct = false;
        continue;
      }
      return IoError("write", path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
    if (*direct && static_cast<size_t>(n) % kDirectAlignment != 0) {
      StopDirect(fd);  // what follows a short write is no longer aligned
      *direct = false;
    }
  }
  return Ok();
}

class LocalFileSource : public ByteSource {
 public:
  LocalFileSource(int fd, std::string path, bool direct)
      : fd_(fd), path_(std::move(path)), direct_(direct) {
    if (direct_) buffer_ = std::make_unique<AlignedBuffer>(kDirectBufferBytes);
  }

  Result<size_t> Read(char* buffer, size_t size) override {
    if (direct_ && begin_ == end_) {
      // Whole aligned blocks into our buffer; only the last read is short.
      CB_ASSIGN_OR_RETURN(size_t n, ReadSome(buffer_->data(), buffer_->size()));
      begin_ = 0;
      end_ = n;
    }
    if (begin_ < end_) {
      size_t n = std::min(size, end_ - begin_);
      std::memcpy(buffer, buffer_->data() + begin_, n);
      begin_ += n;
      return n;
    }
    return ReadSome(buffer, size);
  }

  std::string_view name() const override { return path_; }

 private:
  Result<size_t> ReadSome(char* buffer, size_t size) {
    while (true) {
      ssize_t n = ::read(fd_.get(), buffer, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINVAL && direct_) {
        // The file system refused after all: read through the cache instead.
        StopDirect(fd_.get());
        direct_ = false;
        continue;
      }
      if (errno != EINTR) return IoError("read", path_, errno);
    }
  }

  FileDescriptor fd_;
  std::string path_;
  bool direct_;
  std::unique_ptr<AlignedBuffer> buffer_;  // direct reads land here first
  size_t begin_ = 0;                       // unread bytes of buffer_
  size_t end_ = 0;
};

class LocalObjectStore : public ObjectStore {
 public:
  LocalObjectStore(std::string root, std::string url)
      : root_(std::move(root)), url_(std::move(url)) {}

  Status Put(std::string_view key, ByteSource& source) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectKey(key));
    const std::string path = PathOf(key);
    const size_t slash = path.rfind('/');
    const std::string folder = path.substr(0, slash);
    const std::string file_name = path.substr(slash + 1);

    // The temporary name must fit the file system's name limit too.
    std::string temporary_name = std::string(kTemporaryPrefix) + RandomHex(16) + "-";
    temporary_name += file_name.substr(0, kMaxFileNameBytes - temporary_name.size());
    const std::string temporary_path = folder + "/" + temporary_name;

    // A concurrent Delete may remove the folder (once empty) between creating
    // it and creating the file in it; try again when that happens.
    int fd = -1;
    for (int attempt = 0;; ++attempt) {
      CB_RETURN_IF_ERROR(MakeRoot());
      CB_RETURN_IF_ERROR(MakeFolders(key));
      fd = ::open(temporary_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, 0644);
      if (fd < 0 && errno == EINVAL)  // no direct I/O on this file system
        fd = ::open(temporary_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd >= 0) break;
      if (errno != ENOENT || attempt == 2) return IoError("create", temporary_path, errno);
    }
    FileDescriptor file(fd);

    Status written = CopyAndSync(source, file, temporary_path);
    if (written) written = RenameIntoPlace(temporary_path, path);
    if (!written) {
      ::unlink(temporary_path.c_str());
      return written;
    }
    return SyncFolder(folder);
  }

  Result<std::unique_ptr<ByteSource>> Get(std::string_view key) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectKey(key));
    std::string path = PathOf(key);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return NotFound(key);
      return IoError("open", path, errno);
    }
    FileDescriptor file(fd);
    struct stat info {};
    if (::fstat(file.get(), &info) != 0) return IoError("inspect", path, errno);
    // A folder is where keys with this prefix live, not an object.
    if (!S_ISREG(info.st_mode)) return NotFound(key);
    // Large objects are read directly (see kDirectAlignment); a small one
    // costs a buffer more than it saves.
    bool direct = static_cast<size_t>(info.st_size) >= kDirectBufferBytes;
    if (direct) {
      int flags = ::fcntl(file.get(), F_GETFL);
      direct = flags >= 0 && ::fcntl(file.get(), F_SETFL, flags | O_DIRECT) == 0;
    }
    return std::make_unique<LocalFileSource>(file.Release(), std::move(path), direct);
  }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectPrefix(prefix));
    // Walk only the deepest folder the prefix names in full.
    size_t slash = prefix.rfind('/');
    std::string folder_key =
        slash == std::string_view::npos ? std::string() : std::string(prefix.substr(0, slash));
    std::vector<ObjectInfo> objects;
    CB_RETURN_IF_ERROR(Walk(folder_key, prefix, &objects));
    std::sort(objects.begin(), objects.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return objects;
  }

  Status Delete(std::string_view key) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectKey(key));
    std::string path = PathOf(key);
    if (::unlink(path.c_str()) != 0) {
      // A missing key, or a folder (no object has that key): nothing to do.
      if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) return Ok();
      return IoError("delete", path, errno);
    }
    RemoveEmptyFolders(key);
    return Ok();
  }

  std::string url() const override { return url_; }

  Result<bool> CreateRoot() override {
    std::error_code error;
    const bool existed = fs::is_directory(root_, error);
    CB_RETURN_IF_ERROR(MakeRoot());
    return !existed;
  }

  Result<bool> RemoveRootIfEmpty() override {
    std::error_code error;
    if (!fs::is_directory(root_, error)) return false;
    CB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, List(""));
    if (!objects.empty()) return false;
    // What is left are empty folders and temporary files of unfinished Puts.
    fs::remove_all(root_, error);
    if (error) return IoError("remove folder", root_, error.value());
    return true;
  }

  std::string RootDescription() const override { return "folder '" + root_ + "'"; }

 private:
  // The root folder, created with its parents when missing.
  Status MakeRoot() const {
    struct stat info {};
    if (::stat(root_.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) return Ok();
    std::error_code error;
    fs::create_directories(root_, error);
    if (error) return IoError("create folder", root_, error.value());
    if (!fs::is_directory(root_, error)) {
      return Fail(ErrorCode::kIoError,
                  "Cannot create folder '" + root_ + "': a file of that name is in the way.");
    }
    return Ok();
  }

  std::string PathOf(std::string_view key) const {
    std::string path = root_;
    path += '/';
    path += key;
    return path;
  }

  std::unexpected<Error> NotFound(std::string_view key) const {
    return Fail(ErrorCode::kNotFound,
                "Object '" + std::string(key) + "' does not exist in '" + url_ + "'.");
  }

  // Creates the folders of `key` below the root, syncing each new folder's
  // parent so the new entry survives a crash.
  Status MakeFolders(std::string_view key) const {
    std::string path = root_;
    size_t start = 0;
    for (size_t slash = key.find('/'); slash != std::string_view::npos;
         start = slash + 1, slash = key.find('/', start)) {
      std::string parent = path;
      path += '/';
      path += key.substr(start, slash - start);
      if (::mkdir(path.c_str(), 0755) == 0) {
        CB_RETURN_IF_ERROR(SyncFolder(parent));
        continue;
      }
      if (errno != EEXIST) return IoError("create folder", path, errno);
      struct stat info {};
      if (::stat(path.c_str(), &info) != 0) return IoError("inspect", path, errno);
      if (!S_ISDIR(info.st_mode)) {
        return Fail(ErrorCode::kIoError,
                    "Cannot create folder '" + path + "': a file of that name is in the way.");
      }
    }
    return Ok();
  }

  static Status CopyAndSync(ByteSource& source, FileDescriptor& file, const std::string& path) {
    int flags = ::fcntl(file.get(), F_GETFL);
    bool direct = flags >= 0 && (flags & O_DIRECT) != 0;
    AlignedBuffer buffer(kDirectBufferBytes);
    // Through the cache, write-back starts every few megabytes instead of
    // all at the fsync, so the disk works while the copy goes on.
    constexpr off_t kWriteBehindBytes = off_t{8} << 20;
    off_t written = 0;
    off_t flushed = 0;
    bool end = false;
    while (!end) {
      // Direct writes take whole buffers, so fill this one before writing.
      size_t filled = 0;
      while (filled < buffer.size()) {
        CB_ASSIGN_OR_RETURN(size_t n, source.Read(buffer.data() + filled, buffer.size() - filled));
        if (n == 0) {
          end = true;
          break;
        }
        filled += n;
      }
      size_t aligned = direct ? filled / kDirectAlignment * kDirectAlignment : filled;
      CB_RETURN_IF_ERROR(WriteBlocks(file.get(), buffer.data(), aligned, &direct, path));
      if (aligned < filled) {  // the file's unaligned tail
        StopDirect(file.get());
        direct = false;
        CB_RETURN_IF_ERROR(
            WriteBlocks(file.get(), buffer.data() + aligned, filled - aligned, &direct, path));
      }
      written += static_cast<off_t>(filled);
      if (!direct && written - flushed >= kWriteBehindBytes) {
        (void)::sync_file_range(file.get(), flushed, written - flushed, SYNC_FILE_RANGE_WRITE);
        flushed = written;
      }
    }
    if (::fsync(file.get()) != 0) return IoError("sync", path, errno);
    if (file.Close() != 0) return IoError("close", path, errno);
    return Ok();
  }

  static Status RenameIntoPlace(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) return IoError("replace", to, errno);
    return Ok();
  }

  // Appends the objects in the folder of `folder_key` (and below) whose keys
  // start with `prefix`. A folder that vanishes meanwhile counts as empty.
  Status Walk(const std::string& folder_key, std::string_view prefix,
              std::vector<ObjectInfo>* objects) const {
    const std::string folder = folder_key.empty() ? root_ : PathOf(folder_key);
    std::error_code error;
    fs::directory_iterator it(folder, error);
    if (error) {
      if (error == std::errc::no_such_file_or_directory || error == std::errc::not_a_directory) {
        return Ok();
      }
      return IoError("list", folder, error.value());
    }
    for (; it != fs::directory_iterator(); it.increment(error)) {
      if (error) break;
      std::string name = it->path().filename().string();
      if (name.starts_with(kTemporaryPrefix)) continue;
      std::string key = folder_key.empty() ? name : folder_key + "/" + name;
      fs::file_status status = it->symlink_status(error);
      if (error) {
        if (error == std::errc::no_such_file_or_directory) continue;
        return IoError("inspect", it->path().string(), error.value());
      }
      if (fs::is_directory(status)) {
        if ((key + "/").starts_with(prefix)) CB_RETURN_IF_ERROR(Walk(key, prefix, objects));
      } else if (fs::is_regular_file(status) && key.starts_with(prefix)) {
        uintmax_t size = it->file_size(error);
        if (error) {
          if (error == std::errc::no_such_file_or_directory) continue;
          return IoError("inspect", it->path().string(), error.value());
        }
        objects->push_back(ObjectInfo{std::move(key), static_cast<uint64_t>(size)});
      }
    }
    if (error && error != std::errc::no_such_file_or_directory) {
      return IoError("list", folder, error.value());
    }
    return Ok();
  }

  // Best effort: removes the folders of `key` that are now empty, deepest
  // first, stopping at the first that is not (or at the root).
  void RemoveEmptyFolders(std::string_view key) const {
    for (size_t slash = key.rfind('/'); slash != std::string_view::npos && slash > 0;
         slash = key.rfind('/', slash - 1)) {
      if (::rmdir(PathOf(key.substr(0, slash)).c_str()) != 0) break;
    }
  }

  std::string root_;
  std::string url_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenLocalObjectStore(const std::string& directory) {
  if (directory.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "The object store folder path is empty.");
  }
  std::error_code error;
  fs::path root = fs::absolute(directory, error);
  if (error) return IoError("resolve folder", directory, error.value());
  root = root.lexically_normal();
  std::string root_text = root.string();
  while (root_text.size() > 1 && root_text.back() == '/') root_text.pop_back();

  // A missing folder is fine (the first Put creates it); a file is not.
  if (fs::exists(root, error) && !fs::is_directory(root, error)) {
    return Fail(ErrorCode::kInvalidArgument,
                "The object store path '" + root_text + "' is not a folder.");
  }
  return std::make_unique<LocalObjectStore>(std::move(root_text), "file://" + directory);
}

}  // namespace citybooks

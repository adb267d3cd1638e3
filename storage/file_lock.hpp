#pragma once

#include <caf/expected.hpp>

#include <memory>
#include <string>

namespace skyiq::storage {

/// Creates the missing parent directories of `path` with mode 0700.
/// Returns false with errno set when one cannot be created.
bool make_parent_directories(const std::string& path);

/// An exclusive flock(2) on a lock file, held until destruction. The file
/// stores the holder's pid so that a rejected process can name it.
class file_lock {
public:
  /// Takes the lock on `path`, creating the file with mode 0600. Errors
  /// (errc::unavailable): another open file description holds the lock
  /// (a message naming `resource` and the holder's pid), or the file cannot be
  /// created.
  static caf::expected<std::unique_ptr<file_lock>>
  acquire(const std::string& path, const std::string& resource);

  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  ~file_lock();

private:
  explicit file_lock(int fd) : fd_(fd) {
  }

  int fd_;
};

} // namespace skyiq::storage

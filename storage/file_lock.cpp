#include "storage/file_lock.hpp"

#include "storage/errors.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace skyiq::storage {

namespace {

std::string read_holder_pid(int fd) {
  char text[32] = {};
  auto n = ::pread(fd, text, sizeof(text) - 1, 0);
  std::string pid(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
    pid.pop_back();
  }
  return pid.empty() ? std::string("unknown") : pid;
}

} // namespace

bool make_parent_directories(const std::string& path) {
  for (auto pos = path.find('/', 1); pos != std::string::npos;
       pos = path.find('/', pos + 1)) {
    auto dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return false;
    }
  }
  return true;
}

caf::expected<std::unique_ptr<file_lock>>
file_lock::acquire(const std::string& path, const std::string& resource) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(errc::unavailable, "cannot open lock file " + path
                                           + ": " + std::strerror(errno));
  }
  std::unique_ptr<file_lock> lock{new file_lock(fd)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      return make_error(errc::unavailable, "cannot lock " + path + ": "
                                             + std::strerror(errno));
    }
    return make_error(errc::unavailable,
                      resource + " is in use by another gateway process (pid "
                        + read_holder_pid(fd) + ", lock file " + path
                        + "); stop that process or point storage.url at "
                          "another file");
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0
      || ::pwrite(fd, pid.data(), pid.size(), 0)
           != static_cast<ssize_t>(pid.size())) {
    return make_error(errc::unavailable, "cannot write lock file " + path
                                           + ": " + std::strerror(errno));
  }
  return lock;
}

file_lock::~file_lock() {
  ::close(fd_);
}

} // namespace skyiq::storage

// Loading and first-run creation of the master key file.

#include "storage/crypto.hpp"

#include "storage/encoding.hpp"
#include "storage/errors.hpp"
#include "storage/file_lock.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace skyiq::storage {

namespace {

// Upper bound for a key file read: 64 hex characters and a line ending.
constexpr std::size_t max_key_file_size = 128;

class file_descriptor {
public:
  explicit file_descriptor(int fd) : fd_(fd) {
  }
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  ~file_descriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const {
    return fd_;
  }

private:
  int fd_;
};

caf::error key_error(const std::string& path, const std::string& problem) {
  return make_error(errc::invalid_request,
                    "master key file " + path + ": " + problem);
}

caf::error system_error(const std::string& path, const char* action) {
  return key_error(path, std::string(action) + " failed: "
                           + std::strerror(errno));
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", unsigned(mode & 07777));
  return text;
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

caf::expected<std::shared_ptr<const master_key>>
parse_key(const std::string& path, std::string content) {
  if (content.size() >= 2 && content.compare(content.size() - 2, 2, "\r\n")
                               == 0) {
    content.resize(content.size() - 2);
  } else if (!content.empty() && content.back() == '\n') {
    content.pop_back();
  }
  auto key = master_key::from_hex(content);
  OPENSSL_cleanse(content.data(), content.size());
  if (!key) {
    return key_error(path, "expected 64 hex characters on one line; "
                           "restore the original file or, if no secret "
                           "was ever sealed with it, delete it");
  }
  return key;
}

caf::expected<std::shared_ptr<const master_key>>
read_key(const std::string& path, int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return system_error(path, "stat");
  }
  if (!S_ISREG(info.st_mode)) {
    return key_error(path, "not a regular file");
  }
  if ((info.st_mode & 077) != 0) {
    return key_error(path, "mode " + mode_text(info.st_mode)
                             + " gives group or others access; run "
                               "chmod 600 "
                             + path);
  }
  std::string content(max_key_file_size + 1, '\0');
  std::size_t size = 0;
  while (size < content.size()) {
    auto n = ::read(fd, content.data() + size, content.size() - size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return system_error(path, "read");
    }
    if (n == 0) {
      break;
    }
    size += static_cast<std::size_t>(n);
  }
  content.resize(size);
  return parse_key(path, std::move(content));
}

// Writes a fresh key to a temporary file and links it into place, so no
// reader ever sees a partial file and a concurrent creator loses cleanly.
// Succeeds as well when another process created the file first.
caf::error create_key_file(const std::string& path) {
  if (!make_parent_directories(path)) {
    return system_error(path, "creating the parent directory");
  }
  auto temp = path + ".tmp." + std::to_string(::getpid());
  file_descriptor fd{::open(temp.c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (fd.get() < 0) {
    return system_error(temp, "create");
  }

  std::string raw(master_key::size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()),
                 static_cast<int>(raw.size()))
      != 1) {
    ::unlink(temp.c_str());
    return key_error(path, "OpenSSL RAND_bytes failed");
  }
  auto line = hex_encode(raw) + "\n";
  OPENSSL_cleanse(raw.data(), raw.size());
  bool written = ::fchmod(fd.get(), 0600) == 0 && write_all(fd.get(), line)
                 && ::fsync(fd.get()) == 0;
  OPENSSL_cleanse(line.data(), line.size());

  if (!written) {
    auto err = system_error(temp, "write");
    ::unlink(temp.c_str());
    return err;
  }

  bool created = ::link(temp.c_str(), path.c_str()) == 0;
  auto link_errno = errno;
  ::unlink(temp.c_str());
  if (!created && link_errno != EEXIST) {
    errno = link_errno;
    return system_error(path, "create");
  }
  return caf::none;
}

} // namespace

caf::expected<std::shared_ptr<const master_key>>
master_key::load_or_create(const std::string& path) {
  if (path.empty()) {
    return make_error(errc::invalid_request,
                      "master key file path is empty; set "
                      "security.master_key_file");
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    file_descriptor fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.get() >= 0) {
      return read_key(path, fd.get());
    }
    if (errno != ENOENT) {
      return system_error(path, "open");
    }
    if (auto err = create_key_file(path)) {
      return err;
    }
  }
  return key_error(path, "file vanished while it was being created");
}

} // namespace skyiq::storage

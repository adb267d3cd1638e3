#pragma once

// Client-side deadline for PostgreSQL statements. libpq waits for a reply
// without any time limit, and Poco 1.11's connector uses its blocking
// calls. A hung server therefore keeps a statement, and the thread and
// pooled connection running it, waiting without end while the server's
// kernel still acknowledges the bytes. A network that drops them keeps it
// waiting until TCP gives up, about 15 minutes with Linux's default
// tcp_retries2 (tcp(7)). The watchdog shuts the socket of a statement down once its
// deadline passes, so that libpq returns an error at once.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace Poco::Data {
class Session;
} // namespace Poco::Data

namespace skyiq::storage {

/// Returns the socket of a PostgreSQL session, or -1 for another backend
/// or a session without a connection.
int postgres_socket(Poco::Data::Session& session);

/// A thread that shuts down the sockets of statements running past their
/// deadline. Thread-safe.
class statement_watchdog {
public:
  statement_watchdog();
  ~statement_watchdog();

  statement_watchdog(const statement_watchdog&) = delete;
  statement_watchdog& operator=(const statement_watchdog&) = delete;

  /// Watches `socket` until `disarm`, and shuts it down (SHUT_RDWR, not
  /// close, so libpq still owns the descriptor) after `timeout`. Returns
  /// the ticket for `disarm`.
  std::uint64_t arm(int socket, std::chrono::milliseconds timeout);

  /// Stops watching; returns true when the deadline had passed and the
  /// socket was shut down. The socket is not touched after this returns.
  bool disarm(std::uint64_t ticket);

private:
  struct watch {
    int socket;
    std::chrono::steady_clock::time_point deadline;
    bool fired = false;
  };

  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, watch> watches_;
  std::uint64_t next_ticket_ = 1;
  /// When the thread wakes next unless notified.
  std::chrono::steady_clock::time_point next_wake_ =
    std::chrono::steady_clock::time_point::max();
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace skyiq::storage

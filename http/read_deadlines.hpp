#pragma once

#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace skyiq::http {

/// Shuts down connections whose client is too slow to send a request.
///
/// Poco's server only bounds the wait for each read, so a client that
/// sends one byte just before every read timeout keeps an HTTP thread
/// busy for as long as it likes. Each connection is watched from the
/// moment it is accepted: it carries a deadline while the server waits
/// for a request's head and body, and none while the request is handled.
/// One thread checks the deadlines every `tick` and shuts down the socket
/// of a connection past its deadline, which ends the blocked read and
/// frees the thread.
class read_deadlines {
public:
  using clock = std::chrono::steady_clock;

  /// One watched connection. Only the thread serving the connection moves
  /// its deadline.
  class watch {
  public:
    /// Made by `read_deadlines::add` only.
    explicit watch(const Poco::Net::StreamSocket& socket) : socket_(socket) {}

    /// The request must be read by `deadline`.
    void expect_by(clock::time_point deadline);

    /// The request is read; no deadline until the next one.
    void clear();

  private:
    friend class read_deadlines;

    static constexpr std::int64_t none = INT64_MAX;
    // Holding the socket keeps its descriptor open, so a shutdown never
    // reaches a descriptor reused by another connection.
    Poco::Net::StreamSocket socket_;
    std::atomic<std::int64_t> deadline_{none};
    bool fired_ = false;
  };

  /// `on_expired` runs on the checking thread after a socket is shut down.
  read_deadlines(std::chrono::milliseconds tick,
                 std::function<void(const Poco::Net::StreamSocket&)>
                   on_expired);
  ~read_deadlines();

  read_deadlines(const read_deadlines&) = delete;
  read_deadlines& operator=(const read_deadlines&) = delete;

  /// Starts watching `socket` with its first deadline.
  watch* add(const Poco::Net::StreamSocket& socket,
             clock::time_point deadline);

  /// Stops watching; `w` is invalid afterwards.
  void remove(watch* w);

private:
  void run();

  const std::chrono::milliseconds tick_;
  const std::function<void(const Poco::Net::StreamSocket&)> on_expired_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::list<watch> watches_;
  std::thread thread_;
};

} // namespace skyiq::http

#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace skyiq::testing {

/// A TCP proxy on 127.0.0.1 that forwards to one server and can simulate
/// an outage until `restore`. `cut` closes every forwarded connection and
/// makes new ones close right after accept. `stall` keeps every connection
/// open but forwards nothing, as a hung server would.
class tcp_proxy {
public:
  tcp_proxy(const std::string& server_host, std::uint16_t server_port);
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;
  ~tcp_proxy();

  /// Returns the port the proxy listens on.
  std::uint16_t port() const {
    return port_;
  }

  void cut();
  /// Stops forwarding bytes on every connection, old and new, without
  /// closing any. The kernel still accepts and acknowledges what clients
  /// send, so only a client-side deadline notices.
  void stall();
  void restore();

private:
  void accept_loop();
  void forward(int client, int server);
  int connect_server() const;

  std::string server_host_;
  std::uint16_t server_port_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> cut_{false};
  std::atomic<bool> stalled_{false};
  std::mutex mutex_;
  std::vector<int> open_sockets_;
  std::vector<std::thread> forwarders_;
  std::thread acceptor_;
};

} // namespace skyiq::testing

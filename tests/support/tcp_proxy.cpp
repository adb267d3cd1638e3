#include "tests/support/tcp_proxy.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace skyiq::testing {

namespace {

// Poll interval of the accept and forward loops, so that they notice
// `stopping_` and `cut_` soon.
constexpr int poll_ms = 50;

sockaddr_in loopback_address(const std::string& host, std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    throw std::runtime_error("tcp_proxy needs an IPv4 address, not " + host);
  }
  return address;
}

// Copies what is readable on `from` to `to`; false at end or error.
bool pump(int from, int to) {
  char buffer[16384];
  auto n = ::recv(from, buffer, sizeof(buffer), 0);
  if (n <= 0) {
    return false;
  }
  for (ssize_t done = 0; done < n;) {
    auto sent = ::send(to, buffer + done, static_cast<std::size_t>(n - done),
                       MSG_NOSIGNAL);
    if (sent <= 0) {
      return false;
    }
    done += sent;
  }
  return true;
}

} // namespace

tcp_proxy::tcp_proxy(const std::string& server_host,
                     std::uint16_t server_port)
  : server_host_(server_host), server_port_(server_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto address = loopback_address("127.0.0.1", 0);
  socklen_t size = sizeof(address);
  if (listener_ < 0
      || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0
      || ::listen(listener_, 64) != 0
      || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address),
                       &size)
           != 0) {
    throw std::runtime_error("tcp_proxy cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

tcp_proxy::~tcp_proxy() {
  stopping_ = true;
  acceptor_.join();
  cut();
  for (auto& forwarder : forwarders_) {
    forwarder.join();
  }
  ::close(listener_);
}

void tcp_proxy::cut() {
  cut_ = true;
  std::lock_guard<std::mutex> guard(mutex_);
  for (int socket : open_sockets_) {
    ::shutdown(socket, SHUT_RDWR);
  }
}

void tcp_proxy::stall() {
  stalled_ = true;
}

void tcp_proxy::restore() {
  cut_ = false;
  stalled_ = false;
}

int tcp_proxy::connect_server() const {
  int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto address = loopback_address(server_host_, server_port_);
  if (server >= 0
      && ::connect(server, reinterpret_cast<sockaddr*>(&address),
                   sizeof(address))
           == 0) {
    return server;
  }
  if (server >= 0) {
    ::close(server);
  }
  return -1;
}

void tcp_proxy::accept_loop() {
  while (!stopping_) {
    pollfd waiting{listener_, POLLIN, 0};
    if (::poll(&waiting, 1, poll_ms) <= 0) {
      continue;
    }
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      continue;
    }
    int server = cut_ ? -1 : connect_server();
    if (server < 0) {
      ::close(client);
      continue;
    }
    std::lock_guard<std::mutex> guard(mutex_);
    open_sockets_.push_back(client);
    open_sockets_.push_back(server);
    forwarders_.emplace_back([this, client, server] {
      forward(client, server);
    });
  }
}

void tcp_proxy::forward(int client, int server) {
  pollfd sockets[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
  bool open = true;
  while (open && !cut_) {
    if (stalled_) {
      ::poll(nullptr, 0, poll_ms);
      continue;
    }
    if (::poll(sockets, 2, poll_ms) <= 0) {
      continue;
    }
    if (sockets[0].revents != 0) {
      open = pump(client, server);
    }
    if (open && sockets[1].revents != 0) {
      open = pump(server, client);
    }
  }
  std::lock_guard<std::mutex> guard(mutex_);
  for (int socket : {client, server}) {
    ::shutdown(socket, SHUT_RDWR);
    ::close(socket);
    open_sockets_.erase(
      std::find(open_sockets_.begin(), open_sockets_.end(), socket));
  }
}

} // namespace skyiq::testing

#pragma once

#include "http/app.hpp"

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <memory>

namespace skyiq::http {

class read_deadlines;

/// Poco's HTTP server in front of the router, with its own thread pool
/// (one keep-alive connection per thread), a deadline for reading each
/// request, and the header and body limits that Poco does not enforce.
class server {
public:
  /// Binds `settings.http_host:http_port` (port 0 picks a free port).
  /// Throws Poco::Exception when the address cannot be bound.
  server(std::shared_ptr<services> app);
  ~server();

  void start();

  /// Stops accepting, lets requests in flight finish, then joins the
  /// worker threads.
  void stop();

  /// The port actually bound.
  std::uint16_t port() const;

  const router& routes() const {
    return router_;
  }

private:
  std::shared_ptr<services> app_;
  router router_;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<read_deadlines> deadlines_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr handlers_;
  std::unique_ptr<Poco::Net::TCPServer> server_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

} // namespace skyiq::http

#include "http/server.hpp"

#include "http/errors.hpp"
#include "http/read_deadlines.hpp"
#include "storage/crypto.hpp"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>

namespace skyiq::http {

namespace {

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gateway.http");
  return instance;
}

// The read deadline of the connection this thread serves. A connection
// runs on one pool thread from accept to close, so the handler finds its
// connection's watch here.
thread_local read_deadlines::watch* current_watch = nullptr;

std::string lower(std::string text) {
  for (auto& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

std::size_t body_limit(const config::settings& s, body_kind kind) {
  return kind == body_kind::form ? s.http_max_webhook_bytes
                                 : s.http_max_body_bytes;
}

// After the error response to a rejected body, the rest of the body is
// read and thrown away, up to this many bytes and for at most this long.
// A client still writing the body then reads the response, not a reset.
constexpr std::streamsize max_discarded_bytes = 1 << 20;
constexpr long discard_timeout_ms = 1000;

void discard_body(Poco::Net::HTTPServerRequest& in) {
  try {
    auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(in);
    impl.socket().setReceiveTimeout(Poco::Timespan(discard_timeout_ms * 1000));
    char buffer[8192];
    std::streamsize total = 0;
    auto& body = in.stream();
    while (total < max_discarded_bytes && body) {
      body.read(buffer, sizeof(buffer));
      total += body.gcount();
    }
  } catch (const Poco::Exception&) {
    // A timeout or a reset: the client stopped sending, which is all this
    // waits for.
  }
}

// Returns a 431 response when the request head is over the configured
// field count or size. Poco reads the head before any handler runs and
// enforces only its own fixed maximums.
std::optional<response> check_head(const Poco::Net::HTTPServerRequest& in,
                                   const config::settings& s) {
  if (in.size() > s.http_max_header_fields) {
    auto result = error_response(
      errc::headers_too_large,
      "the request has " + std::to_string(in.size())
        + " header fields, over the limit of "
        + std::to_string(s.http_max_header_fields) + "; send fewer headers");
    result.close = true;
    result.drain = true;
    return result;
  }
  // The request line and every field with its ": " and CRLF.
  std::size_t bytes = in.getMethod().size() + in.getURI().size()
                      + in.getVersion().size() + 4;
  for (const auto& [name, value] : in) {
    bytes += name.size() + value.size() + 4;
  }
  if (bytes > s.http_max_header_bytes) {
    auto result = error_response(
      errc::headers_too_large,
      "the request head is " + std::to_string(bytes)
        + " bytes, over the limit of "
        + std::to_string(s.http_max_header_bytes)
        + " bytes; send shorter headers");
    result.close = true;
    result.drain = true;
    return result;
  }
  return std::nullopt;
}

// Reads the body under the route's rules. Returns an error response when
// the body is chunked, has no length, is too large or is cut short.
std::optional<response> read_body(Poco::Net::HTTPServerRequest& in,
                                  const route* matched,
                                  const config::settings& s, request& out) {
  const bool chunked = in.getChunkedTransferEncoding();
  const bool has_length = in.hasContentLength();
  const auto length = has_length ? in.getContentLength64() : 0;
  const auto kind = matched ? matched->body : body_kind::none;
  if (kind == body_kind::none && !chunked && length == 0) {
    return std::nullopt;
  }
  const auto limit =
      body_limit(s, kind == body_kind::none ? body_kind::json : kind);
  if (chunked || (!has_length && kind != body_kind::none)) {
    auto result = error_response(
        errc::length_required,
        "send the body with a Content-Length header, not chunked");
    result.close = true;
    result.drain = true;
    return result;
  }
  if (length < 0 || static_cast<std::uint64_t>(length) > limit) {
    auto result = error_response(errc::body_too_large,
                                 "the body of " + std::to_string(length) +
                                     " bytes is over the limit of " +
                                     std::to_string(limit) + " bytes");
    result.close = true;
    result.drain = true;
    return result;
  }
  out.body.resize(static_cast<std::size_t>(length));
  in.stream().read(out.body.data(), length);
  if (in.stream().gcount() != length) {
    auto result = error_response(errc::invalid_request,
                                 "the body ended before Content-Length "
                                 "bytes arrived");
    result.close = true;
    return result;
  }
  return std::nullopt;
}

// Request ids are this process's random prefix and a counter: unique and
// cheap, and they need not be unpredictable.
std::string next_request_id() {
  static const std::string prefix = storage::random_id().substr(0, 10) + "-";
  static std::atomic<std::uint64_t> counter{0};
  return prefix + std::to_string(counter.fetch_add(1) + 1);
}

request convert(Poco::Net::HTTPServerRequest& in) {
  request out;
  out.method = in.getMethod();
  out.target = in.getURI();
  for (const auto& [name, value] : in) {
    out.headers[lower(name)] = value;
  }
  out.peer = in.clientAddress().host().toString();
  out.request_id = next_request_id();
  return out;
}

void send(Poco::Net::HTTPServerResponse& out, const response& result,
          const request& req) {
  const auto status =
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(result.status);
  out.setStatusAndReason(status,
                         Poco::Net::HTTPResponse::getReasonForStatus(status));
  out.set("X-Request-Id", req.request_id);
  for (const auto& [name, value] : result.headers) {
    out.set(name, value);
  }
  if (result.close) {
    out.setKeepAlive(false);
  }
  if (result.status == 204 || result.content_type.empty()) {
    out.setContentLength(0);
    out.send().flush();
    return;
  }
  out.setContentType(result.content_type);
  out.setContentLength(static_cast<std::streamsize>(result.body.size()));
  out.send() << result.body << std::flush;
}

class gateway_handler : public Poco::Net::HTTPRequestHandler {
public:
  gateway_handler(services& app, const router& table)
      : app_(app), router_(table) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& out) override {
    auto req = convert(in);
    const auto result = handle(in, req);
    app_.stats->count_request(req.method, route_name_, result.status);
    // The line is built only when debug is on: this runs per request.
    if (logger().debug()) {
      logger().debug("request-served request_id=" + req.request_id +
                     " method=" + req.method + " route=\"" + route_name_ +
                     "\" status=" + std::to_string(result.status) +
                     (req.account_id.empty()
                          ? std::string()
                          : " account_id=" + req.account_id));
    }
    send(out, result, req);
    if (result.drain) {
      discard_body(in);
    }
    // The next request may come after the connection idled for up to
    // http.idle_timeout; from then on it has http.read_timeout to arrive.
    if (current_watch != nullptr) {
      current_watch->expect_by(read_deadlines::clock::now()
                               + app_.settings.http_idle_timeout
                               + app_.settings.http_read_timeout);
    }
  }

private:
  response handle(Poco::Net::HTTPServerRequest& in, request& req) {
    try {
      if (!split_target(req.target, req.path, req.query)) {
        auto result = error_response(errc::invalid_request,
                                     "malformed request target: send an "
                                     "absolute path with a valid query");
        result.close = true;
        return result;
      }
      const auto found = router_.match(req.method, req.path);
      route_name_ = found.found ? found.found->pattern : "unmatched";
      if (auto rejected = check_head(in, app_.settings)) {
        return *rejected;
      }
      auto rejected = read_body(in, found.found, app_.settings, req);
      // Handling the request takes as long as it takes; its own timeouts
      // bound it.
      if (current_watch != nullptr) {
        current_watch->clear();
      }
      if (rejected) {
        return *rejected;
      }
      return dispatch(router_, app_, req);
    } catch (const std::exception& e) {
      logger().error("request-failed message=\"cannot read request\" "
                     "request_id=" +
                     req.request_id + " what=\"" + e.what() + "\"");
      auto result = error_response(errc::internal, "internal error");
      result.close = true;
      return result;
    }
  }

  services& app_;
  const router& router_;
  std::string route_name_ = "unmatched";
};

class handler_factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
  handler_factory(services& app, const router& table)
      : app_(app), router_(table) {}

  Poco::Net::HTTPRequestHandler*
  createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new gateway_handler(app_, router_);
  }

  /// Tells every connection to close after the request it serves, as
  /// Poco's HTTPServer::stopAll does (the event is protected).
  void stop_connections() {
    serverStopped(this, false);
  }

private:
  services& app_;
  const router& router_;
};

// Poco's HTTP connection, watched by `read_deadlines` from accept to close.
class watched_connection : public Poco::Net::HTTPServerConnection {
public:
  watched_connection(const Poco::Net::StreamSocket& socket,
                     Poco::Net::HTTPServerParams::Ptr params,
                     Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                     read_deadlines& deadlines,
                     std::chrono::milliseconds read_timeout)
    : HTTPServerConnection(socket, params, factory), deadlines_(deadlines),
      read_timeout_(read_timeout) {}

  void run() override {
    struct unwatch {
      read_deadlines& deadlines;
      read_deadlines::watch* watch;
      ~unwatch() {
        current_watch = nullptr;
        deadlines.remove(watch);
      }
    } guard{deadlines_,
            deadlines_.add(socket(),
                           read_deadlines::clock::now() + read_timeout_)};
    current_watch = guard.watch;
    HTTPServerConnection::run();
  }

private:
  read_deadlines& deadlines_;
  std::chrono::milliseconds read_timeout_;
};

class watched_connection_factory
  : public Poco::Net::TCPServerConnectionFactory {
public:
  watched_connection_factory(Poco::Net::HTTPServerParams::Ptr params,
                             Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                             read_deadlines& deadlines,
                             std::chrono::milliseconds read_timeout)
    : params_(std::move(params)), factory_(std::move(factory)),
      deadlines_(deadlines), read_timeout_(read_timeout) {}

  Poco::Net::TCPServerConnection*
  createConnection(const Poco::Net::StreamSocket& socket) override {
    return new watched_connection(socket, params_, factory_, deadlines_,
                                  read_timeout_);
  }

private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  read_deadlines& deadlines_;
  std::chrono::milliseconds read_timeout_;
};

// How often read deadlines are checked: a slow client is cut off at most
// this long after its deadline.
std::chrono::milliseconds deadline_tick(std::chrono::milliseconds timeout) {
  return std::clamp(timeout / 4, std::chrono::milliseconds(25),
                    std::chrono::milliseconds(250));
}

} // namespace

server::server(std::shared_ptr<services> app)
    : app_(std::move(app)), router_(make_router(*app_)) {
  const auto& s = app_->settings;
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress(s.http_host, s.http_port), true);
  socket.listen(
      static_cast<int>(std::min<std::size_t>(s.http_max_queued, 4096)));
  port_ = socket.address().port();

  const int threads = static_cast<int>(s.http_threads);
  pool_ = std::make_unique<Poco::ThreadPool>(std::min(threads, 2), threads);
  auto params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(threads);
  params->setMaxQueued(static_cast<int>(s.http_max_queued));
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(
      static_cast<int>(s.http_max_keep_alive_requests));
  const Poco::Timespan idle(
      std::chrono::duration_cast<std::chrono::microseconds>(s.http_idle_timeout)
          .count());
  params->setKeepAliveTimeout(idle);
  params->setTimeout(idle);
  auto stats = app_->stats;
  deadlines_ = std::make_unique<read_deadlines>(
    deadline_tick(s.http_read_timeout),
    [stats](const Poco::Net::StreamSocket& client) {
      if (stats) {
        stats->read_timeouts.fetch_add(1, std::memory_order_relaxed);
      }
      std::string peer;
      try {
        peer = client.peerAddress().toString();
      } catch (const Poco::Exception&) {
        peer = "unknown";
      }
      logger().warning("connection-closed reason=read_timeout peer=" + peer
                       + " message=\"the client did not send a whole "
                         "request within http.read_timeout\"");
    });
  handlers_ = new handler_factory(*app_, router_);
  server_ = std::make_unique<Poco::Net::TCPServer>(
    new watched_connection_factory(params, handlers_, *deadlines_,
                                   s.http_read_timeout),
    *pool_, socket, params);
}

server::~server() {
  stop();
}

void server::start() {
  server_->start();
}

void server::stop() {
  if (stopped_ || !server_) {
    return;
  }
  stopped_ = true;
  // What Poco's HTTPServer::stopAll does: stop accepting, then tell every
  // connection to close after the request it is serving.
  server_->stop();
  static_cast<handler_factory&>(*handlers_).stop_connections();
  pool_->joinAll();
}

std::uint16_t server::port() const {
  return port_;
}

} // namespace skyiq::http

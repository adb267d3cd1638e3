#include "http/server.hpp"

#include "http/errors.hpp"
#include "storage/crypto.hpp"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

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
      if (auto rejected = read_body(in, found.found, app_.settings, req)) {
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

private:
  services& app_;
  const router& router_;
};

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
  server_ = std::make_unique<Poco::Net::HTTPServer>(
      new handler_factory(*app_, router_), *pool_, socket, params);
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
  server_->stopAll(false);
  pool_->joinAll();
}

std::uint16_t server::port() const {
  return port_;
}

} // namespace skyiq::http

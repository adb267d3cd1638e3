#include "tests/fake_twilio/fake_twilio.hpp"

#include "tests/fake_twilio/fake_state.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <mutex>

namespace skyiq::testing {

namespace {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// Request bodies beyond this get a 413 response.
constexpr std::size_t max_body_bytes = 1024 * 1024;

std::optional<std::string> read_body(HTTPServerRequest& request) {
  std::string body;
  char buffer[8192];
  auto& in = request.stream();
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    body.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (body.size() > max_body_bytes) {
      return std::nullopt;
    }
  }
  return body;
}

std::optional<basic_auth> basic_auth_of(const HTTPServerRequest& request) {
  if (!request.hasCredentials()) {
    return std::nullopt;
  }
  try {
    Poco::Net::HTTPBasicCredentials credentials(request);
    return basic_auth{credentials.getUsername(), credentials.getPassword()};
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

void send(HTTPServerResponse& response, const fake_response& reply) {
  response.setStatus(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
  if (reply.retry_after_seconds) {
    response.set("Retry-After", std::to_string(*reply.retry_after_seconds));
  }
  response.setContentType("application/json; charset=utf-8");
  response.sendBuffer(reply.body.data(), reply.body.size());
}

void close_connection(HTTPServerRequest& request,
                      HTTPServerResponse& response) {
  response.setKeepAlive(false);
  auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(request);
  try {
    impl.socket().shutdown();
  } catch (const Poco::Exception&) {
    // The peer may already be gone, which is what was wanted.
  }
}

void send_truncated(HTTPServerRequest& request, HTTPServerResponse& response) {
  const std::string part = "{\"sid\": \"AC";
  response.setContentType("application/json; charset=utf-8");
  response.setContentLength(static_cast<std::streamsize>(part.size() * 10));
  response.setKeepAlive(false);
  auto& out = response.send();
  out << part;
  out.flush();
  close_connection(request, response);
}

fake_response fault_response(const fault& f) {
  const auto reason = Poco::Net::HTTPResponse::getReasonForStatus(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(f.status));
  auto reply = twilio_error_response(f.status, 20000 + f.status, reason);
  reply.retry_after_seconds = f.retry_after_seconds;
  if (f.body) {
    reply.body = *f.body;
  }
  return reply;
}

class request_handler : public Poco::Net::HTTPRequestHandler {
public:
  explicit request_handler(std::shared_ptr<fake_state> state)
      : state_(std::move(state)) {}

  void handleRequest(HTTPServerRequest& request,
                     HTTPServerResponse& response) override {
    const auto body = read_body(request);
    if (!body) {
      response.setKeepAlive(false);
      send(response,
           twilio_error_response(413, 20413, "Request entity too large"));
      return;
    }
    const auto& method = request.getMethod();
    const auto& target = request.getURI();
    const auto account = state_->authenticate(basic_auth_of(request));
    state_->record({method, target, *body, account.has_value(),
                    request.clientAddress().port()});

    if (const auto f = state_->take_fault(method, target)) {
      if (!apply_fault(*f, request, response)) {
        return;
      }
    }
    send(response, state_->handle(method, target, *body, account));
  }

private:
  // Returns true when the request still gets its normal response.
  bool apply_fault(const fault& f, HTTPServerRequest& request,
                   HTTPServerResponse& response) {
    if (f.delay.count() > 0 && !state_->wait(f.delay)) {
      close_connection(request, response);
      return false;
    }
    if (f.drop_connection) {
      close_connection(request, response);
      return false;
    }
    if (f.truncate_body) {
      send_truncated(request, response);
      return false;
    }
    if (f.status != 0) {
      send(response, fault_response(f));
      return false;
    }
    return true;
  }

  std::shared_ptr<fake_state> state_;
};

class handler_factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
  explicit handler_factory(std::shared_ptr<fake_state> state)
      : state_(std::move(state)) {}

  Poco::Net::HTTPRequestHandler*
  createRequestHandler(const HTTPServerRequest&) override {
    return new request_handler(state_);
  }

private:
  std::shared_ptr<fake_state> state_;
};

Poco::Net::ServerSocket make_socket(const fake_options& options) {
  const Poco::Net::SocketAddress address("127.0.0.1", options.port);
  if (options.certificate_file.empty() || options.private_key_file.empty()) {
    return Poco::Net::ServerSocket(address, 64);
  }
  static std::once_flag ssl_initialized;
  std::call_once(ssl_initialized, [] { Poco::Net::initializeSSL(); });
  Poco::Net::Context::Ptr context = new Poco::Net::Context(
      Poco::Net::Context::TLS_SERVER_USE, options.private_key_file,
      options.certificate_file, "", Poco::Net::Context::VERIFY_NONE);
  return Poco::Net::SecureServerSocket(address, 64, context);
}

} // namespace

fake_twilio::fake_twilio(fake_options options)
    : state_(std::make_shared<fake_state>(options.page_size)),
      threads_(std::make_unique<Poco::ThreadPool>(2, 32)),
      tls_(!options.certificate_file.empty() &&
           !options.private_key_file.empty()) {
  auto socket = make_socket(options);
  port_ = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(32);
  params->setMaxQueued(64);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(5, 0));
  params->setTimeout(Poco::Timespan(10, 0));
  server_ = std::make_unique<Poco::Net::HTTPServer>(new handler_factory(state_),
                                                    *threads_, socket, params);
  server_->start();
}

fake_twilio::~fake_twilio() {
  state_->stop();
  server_->stopAll(true);
  threads_->joinAll();
}

std::string fake_twilio::base_url() const {
  return std::string(tls_ ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(port_);
}

std::uint16_t fake_twilio::port() const {
  return port_;
}

void fake_twilio::add_account(const std::string& sid,
                              const std::string& auth_token,
                              const std::string& status) {
  state_->add_account(sid, auth_token, status);
}

void fake_twilio::set_account_status(const std::string& sid,
                                     const std::string& status) {
  state_->set_account_status(sid, status);
}

void fake_twilio::add_number(const std::string& account_sid,
                             const std::string& e164,
                             const std::string& number_sid,
                             const std::string& friendly_name,
                             const std::string& voice_application_sid,
                             const std::string& trunk_sid) {
  number_state number;
  number.sid = number_sid;
  number.account_sid = account_sid;
  number.phone_number = e164;
  number.friendly_name = friendly_name.empty() ? e164 : friendly_name;
  number.voice_application_sid = voice_application_sid;
  number.trunk_sid = trunk_sid;
  state_->add_number(std::move(number));
}

std::optional<number_state> fake_twilio::number(const std::string& sid) const {
  return state_->number(sid);
}

void fake_twilio::set_page_size(std::size_t page_size) {
  state_->set_page_size(page_size);
}

void fake_twilio::inject(fault f) {
  state_->inject(std::move(f));
}

std::vector<recorded_request> fake_twilio::requests() const {
  return state_->requests();
}

void fake_twilio::clear_requests() {
  state_->clear_requests();
}

} // namespace skyiq::testing

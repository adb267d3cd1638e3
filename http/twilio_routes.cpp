#include "actors/node.hpp"
#include "actors/twilio/phone_number.hpp"
#include "actors/twilio/signature.hpp"
#include "actors/twiml.hpp"
#include "actors/webhook_params.hpp"
#include "http/app.hpp"
#include "http/errors.hpp"
#include "http/json_io.hpp"
#include "storage/number_directory.hpp"

#include <Poco/Logger.h>

#include <chrono>

namespace skyiq::http {

namespace {

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gateway.webhook");
  return instance;
}

response twiml_response(std::string body) {
  response result;
  result.content_type = "text/xml";
  result.body = std::move(body);
  return result;
}

response no_content() {
  response result;
  result.status = 204;
  result.content_type.clear();
  return result;
}

// The number that identifies the account: the called number of an inbound
// call, the calling number of an outbound one. Only an exact E.164 string
// routes; anything else (a SIP URI, a client id) matches no account.
std::string routing_number(const actors::param_list& params) {
  const auto direction =
      actors::find_param(params, "Direction").value_or("inbound");
  const auto* field = direction == "inbound" ? "To" : "From";
  return actors::find_param(params, field).value_or("");
}

struct routed {
  std::optional<std::string> account_id;
  actors::twilio_request message;
};

caf::expected<routed> route_twilio(services& app, request& req) {
  auto params = twilio::parse_form(req.body);
  if (!params) {
    return std::move(params.error());
  }
  routed result;
  const auto number = routing_number(*params);
  if (twilio::is_e164(number)) {
    auto owner = app.numbers->owner_of(number);
    if (!owner) {
      return std::move(owner.error());
    }
    result.account_id = std::move(*owner);
  }
  result.message.url = app.settings.http_public_base_url + req.target;
  result.message.params = std::move(*params);
  result.message.signature = req.header("x-twilio-signature");
  result.message.request_id = req.request_id;
  return result;
}

response failed_webhook(services& app, const request& req,
                        const caf::error& err) {
  // Errors from CAF itself (a timeout) are answered 503 unavailable, and
  // the log line names the code the response carries.
  const auto code =
      err.category() == error_category ? code_of(err) : errc::unavailable;
  if (code == errc::signature_invalid) {
    app.stats->signature_failures++;
  }
  logger().warning("webhook-failed message=\"Twilio request not accepted\" "
                   "request_id=" +
                   req.request_id + " code=" + to_code(code) + " error=\"" +
                   message_of(err) + "\"");
  return error_response(err);
}

response voice_webhook(services& app, request& req) {
  const auto start = std::chrono::steady_clock::now();
  auto target = route_twilio(app, req);
  if (!target) {
    return failed_webhook(app, req, target.error());
  }
  if (!target->account_id) {
    app.stats->unknown_number_rejects++;
    if (logger().debug()) {
      logger().debug("unknown-number message=\"call rejected\" request_id=" +
                     req.request_id);
    }
    return twiml_response(actors::render_reject());
  }
  auto answer = app.bridge->ask_account<std::string>(
      app.registry, *target->account_id, app.settings.http_request_timeout,
      actors::voice_atom_v, std::move(target->message));
  if (!answer) {
    return failed_webhook(app, req, answer.error());
  }
  const std::chrono::duration<double> took =
      std::chrono::steady_clock::now() - start;
  app.stats->observe_webhook_seconds(took.count());
  return twiml_response(std::move(*answer));
}

response status_callback(services& app, request& req) {
  auto target = route_twilio(app, req);
  if (!target) {
    return failed_webhook(app, req, target.error());
  }
  if (!target->account_id) {
    app.stats->unknown_number_rejects++;
    return no_content();
  }
  auto applied = app.bridge->ask_account<bool>(
      app.registry, *target->account_id, app.settings.http_request_timeout,
      actors::status_atom_v, std::move(target->message));
  if (!applied) {
    return failed_webhook(app, req, applied.error());
  }
  return no_content();
}

caf::expected<actors::setup_request> read_setup(services& app,
                                                const request& req) {
  auto object =
      parse_object(req.body, {"accountSid", "authToken", "phoneNumber"});
  if (!object) {
    return std::move(object.error());
  }
  auto sid = required_string(*object, "accountSid", 64);
  auto token = required_string(*object, "authToken", 256);
  auto phone = required_string(*object, "phoneNumber", 64);
  for (auto* field : {&sid, &token, &phone}) {
    if (!*field) {
      return std::move(field->error());
    }
  }
  if (!actors::is_account_sid(*sid)) {
    return make_error(errc::invalid_account_sid,
                      "invalid accountSid '" + *sid +
                          "': expected AC followed by 32 hex digits, as "
                          "shown in the Twilio console");
  }
  if (token->empty()) {
    return make_error(errc::invalid_request, "field 'authToken' is empty");
  }
  auto e164 = twilio::normalize_e164(*phone, app.settings.phone_default_region);
  if (!e164) {
    return std::move(e164.error());
  }
  return actors::setup_request{*sid, *token, *e164, req.request_id};
}

response setup(services& app, request& req) {
  auto setup_req = read_setup(app, req);
  if (!setup_req) {
    return error_response(setup_req.error());
  }
  auto result = app.bridge->ask_account<actors::setup_result>(
      app.registry, req.account_id, actors::twilio_flow_timeout(app.settings),
      actors::setup_atom_v, std::move(*setup_req));
  if (!result) {
    return error_response(result.error());
  }
  return json_response(result->created ? 201 : 200, to_json(*result));
}

caf::expected<actors::numbers_request> read_numbers(const request& req) {
  actors::numbers_request result;
  result.request_id = req.request_id;
  if (req.body.empty()) {
    return result;
  }
  auto object = parse_object(req.body, {"accountSid", "authToken"});
  if (!object) {
    return std::move(object.error());
  }
  if (object->empty()) {
    return result;
  }
  auto sid = required_string(*object, "accountSid", 64);
  if (!sid) {
    return std::move(sid.error());
  }
  auto token = required_string(*object, "authToken", 256);
  if (!token) {
    return std::move(token.error());
  }
  if (!actors::is_account_sid(*sid)) {
    return make_error(errc::invalid_account_sid,
                      "invalid accountSid '" + *sid +
                          "': expected AC followed by 32 hex digits");
  }
  result.account_sid = *sid;
  result.auth_token = *token;
  return result;
}

response numbers(services& app, request& req) {
  auto numbers_req = read_numbers(req);
  if (!numbers_req) {
    return error_response(numbers_req.error());
  }
  auto list = app.bridge->ask_account<actors::number_list>(
      app.registry, req.account_id, actors::twilio_flow_timeout(app.settings),
      actors::numbers_atom_v, std::move(*numbers_req));
  if (!list) {
    return error_response(list.error());
  }
  return json_response(200, to_json(*list));
}

} // namespace

void add_twilio_routes(router& table, services& app) {
  table.add({"POST", "/api/twilio/setup/:userId", access::account,
             body_kind::json, [&app](request& r) { return setup(app, r); }});
  table.add({"POST", "/api/twilio/numbers/:userId", access::account,
             body_kind::optional_json,
             [&app](request& r) { return numbers(app, r); }});
  table.add({"POST", "/api/twilio/webhook", access::twilio, body_kind::form,
             [&app](request& r) { return voice_webhook(app, r); }});
  table.add({"POST", "/api/twilio/status", access::twilio, body_kind::form,
             [&app](request& r) { return status_callback(app, r); }});
}

} // namespace skyiq::http

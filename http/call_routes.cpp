#include "actors/twilio/phone_number.hpp"
#include "actors/webhook_params.hpp"
#include "http/app.hpp"
#include "http/errors.hpp"
#include "http/json_io.hpp"

#include <algorithm>
#include <cctype>

namespace skyiq::http {

namespace {

constexpr std::size_t max_page = 200;

response call_not_found() {
  // Identical for an id that does not exist, is malformed or belongs to
  // another account, so that no other account's call can be inferred.
  return error_response(errc::not_found,
                        "no call with this id in your account");
}

caf::expected<std::size_t> read_limit(const request& req) {
  const auto it = req.query.find("limit");
  if (it == req.query.end()) {
    return std::size_t{50};
  }
  const auto& text = it->second;
  const bool digits = !text.empty() && text.size() <= 3 &&
                      std::all_of(text.begin(), text.end(), ::isdigit);
  const auto value = digits ? std::stoul(text) : 0;
  if (value < 1 || value > max_page) {
    return make_error(errc::invalid_request,
                      "invalid limit '" + text +
                          "': expected an integer from 1 to 200");
  }
  return static_cast<std::size_t>(value);
}

caf::expected<storage::call_query> read_query(const request& req) {
  storage::call_query query;
  auto limit = read_limit(req);
  if (!limit) {
    return std::move(limit.error());
  }
  query.limit = *limit;
  if (auto it = req.query.find("cursor"); it != req.query.end()) {
    query.cursor = it->second;
  }
  if (auto it = req.query.find("status"); it != req.query.end()) {
    if (!storage::is_call_status(it->second)) {
      return make_error(errc::invalid_request,
                        "invalid status '" + it->second +
                            "': expected one of queued, ringing, "
                            "in-progress, completed, busy, failed, "
                            "no-answer, canceled");
    }
    query.status = it->second;
  }
  return query;
}

response list_calls(services& app, request& req) {
  auto query = read_query(req);
  if (!query) {
    return error_response(query.error());
  }
  auto page = app.bridge->ask_account<storage::call_page>(
      app.registry, req.account_id, app.settings.http_request_timeout,
      actors::list_atom_v, std::move(*query));
  if (!page) {
    return error_response(page.error());
  }
  response result;
  result.body = dump_call_page(*page);
  return result;
}

bool looks_like_number(const std::string& party) {
  return !party.empty() && (party[0] == '+' ||
                            std::isdigit(static_cast<unsigned char>(party[0])));
}

// The account's own side must be a phone number; the other party may be
// any caller id Twilio sends (client:..., sip:..., Anonymous).
caf::expected<std::string> read_party(const std::string& value, bool own,
                                      const std::string& region) {
  if (own || looks_like_number(value)) {
    return twilio::normalize_e164(value, region);
  }
  return value;
}

caf::expected<storage::call_record> read_call(services& app,
                                              const request& req) {
  auto object =
      parse_object(req.body, {"callSid", "from", "to", "direction", "status"});
  if (!object) {
    return std::move(object.error());
  }
  auto sid = required_string(*object, "callSid", 64);
  auto from = required_string(*object, "from", 256);
  auto to = required_string(*object, "to", 256);
  auto direction = optional_string(*object, "direction", 32);
  auto status = optional_string(*object, "status", 32);
  for (auto* field : {&sid, &from, &to}) {
    if (!*field) {
      return std::move(field->error());
    }
  }
  if (!direction) {
    return std::move(direction.error());
  }
  if (!status) {
    return std::move(status.error());
  }
  if (!actors::is_call_sid(*sid)) {
    return make_error(errc::invalid_request,
                      "invalid callSid '" + *sid +
                          "': expected CA followed by 32 hex digits");
  }
  storage::call_record call;
  call.call_sid = *sid;
  call.direction = direction->value_or("inbound");
  static const std::vector<std::string> directions = {"inbound", "outbound-api",
                                                      "outbound-dial"};
  if (std::find(directions.begin(), directions.end(), call.direction) ==
      directions.end()) {
    return make_error(errc::invalid_request,
                      "invalid direction '" + call.direction +
                          "': expected inbound, outbound-api or "
                          "outbound-dial");
  }
  call.status = status->value_or("completed");
  if (!storage::is_call_status(call.status)) {
    return make_error(errc::invalid_request,
                      "invalid status '" + call.status +
                          "': expected one of Twilio's call statuses");
  }
  const bool inbound = call.direction == "inbound";
  const auto& region = app.settings.phone_default_region;
  auto own_from = read_party(*from, !inbound, region);
  auto own_to = read_party(*to, inbound, region);
  if (from->empty() || to->empty()) {
    return make_error(errc::invalid_request,
                      "fields 'from' and 'to' must not be empty");
  }
  if (!own_from) {
    return std::move(own_from.error());
  }
  if (!own_to) {
    return std::move(own_to.error());
  }
  call.from = *own_from;
  call.to = *own_to;
  return call;
}

response create_call(services& app, request& req) {
  auto call = read_call(app, req);
  if (!call) {
    return error_response(call.error());
  }
  auto created = app.bridge->ask_account<storage::call_record>(
      app.registry, req.account_id, app.settings.http_request_timeout,
      actors::create_atom_v, std::move(*call));
  if (!created) {
    return error_response(created.error());
  }
  return json_response(201, to_json(*created));
}

response delete_call(services& app, request& req) {
  const auto& id = req.path_params["id"];
  const bool well_formed =
      id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
               c == '_';
      });
  if (!well_formed) {
    return call_not_found();
  }
  auto deleted = app.bridge->ask_account<bool>(
      app.registry, req.account_id, app.settings.http_request_timeout,
      actors::delete_atom_v, id);
  if (!deleted) {
    if (code_of(deleted.error()) == errc::not_found) {
      return call_not_found();
    }
    return error_response(deleted.error());
  }
  response result;
  result.status = 204;
  result.content_type.clear();
  return result;
}

} // namespace

void add_call_routes(router& table, services& app) {
  table.add({"GET", "/api/calls/user/:userId", access::account, body_kind::none,
             [&app](request& r) { return list_calls(app, r); }});
  table.add({"POST", "/api/calls", access::account, body_kind::json,
             [&app](request& r) { return create_call(app, r); }});
  table.add({"DELETE", "/api/calls/:id", access::account, body_kind::none,
             [&app](request& r) { return delete_call(app, r); }});
}

} // namespace skyiq::http

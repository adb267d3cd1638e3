#include "actors/twilio/phone_number.hpp"
#include "http/app.hpp"
#include "http/errors.hpp"
#include "http/json_io.hpp"

#include <Poco/File.h>

#include <cctype>

namespace skyiq::http {

namespace {

// An IANA zone name such as "America/New_York" or "UTC": checked against
// the system's zoneinfo database (Debian's tzdata).
bool is_known_timezone(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '/' ||
      name.find("..") != std::string::npos) {
    return false;
  }
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '/' ||
                    c == '_' || c == '-' || c == '+';
    if (!ok) {
      return false;
    }
  }
  Poco::File zone("/usr/share/zoneinfo/" + name);
  return zone.exists() && zone.isFile();
}

caf::expected<actors::profile_patch> read_patch(services& app,
                                                const request& req) {
  auto object = parse_object(
      req.body, {"businessName", "greeting", "timezone", "hours", "forwardTo"});
  if (!object) {
    return std::move(object.error());
  }
  actors::profile_patch patch;
  auto name = patch_string(*object, "businessName", 200);
  auto greeting = patch_string(*object, "greeting", 1000);
  auto timezone = patch_string(*object, "timezone", 64);
  auto hours = patch_string(*object, "hours", 1000);
  auto forward = patch_string(*object, "forwardTo", 64);
  for (auto* field : {&name, &greeting, &timezone, &hours, &forward}) {
    if (!*field) {
      return std::move(field->error());
    }
  }
  if (*timezone && **timezone && !is_known_timezone(***timezone)) {
    return make_error(errc::invalid_request,
                      "invalid timezone '" + ***timezone +
                          "': expected an IANA name such as "
                          "America/New_York");
  }
  if (*forward && **forward) {
    auto e164 =
        twilio::normalize_e164(***forward, app.settings.phone_default_region);
    if (!e164) {
      return std::move(e164.error());
    }
    *forward = std::optional<std::string>{*e164};
  }
  patch.business_name = *name;
  patch.greeting = *greeting;
  patch.timezone = *timezone;
  patch.hours = *hours;
  patch.forward_to = *forward;
  return patch;
}

response get_profile(services& app, request& req) {
  auto profile = app.bridge->ask_account<storage::business_profile>(
      app.registry, req.account_id, app.settings.http_request_timeout,
      actors::profile_atom_v);
  if (!profile) {
    return error_response(profile.error());
  }
  return json_response(200, to_json(*profile));
}

response update_profile(services& app, request& req) {
  auto patch = read_patch(app, req);
  if (!patch) {
    return error_response(patch.error());
  }
  auto profile = app.bridge->ask_account<storage::business_profile>(
      app.registry, req.account_id, app.settings.http_request_timeout,
      actors::update_atom_v, std::move(*patch));
  if (!profile) {
    return error_response(profile.error());
  }
  return json_response(200, to_json(*profile));
}

} // namespace

void add_business_routes(router& table, services& app) {
  table.add({"GET", "/api/business/:userId", access::account, body_kind::none,
             [&app](request& r) { return get_profile(app, r); }});
  table.add({"POST", "/api/business/:userId", access::account, body_kind::json,
             [&app](request& r) { return update_profile(app, r); }});
}

} // namespace skyiq::http

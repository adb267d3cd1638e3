#include "actors/webhook_params.hpp"

#include "storage/errors.hpp"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace skyiq::actors {

namespace {

bool is_sid(const std::string& text, const char* prefix) {
  if (text.size() != 34 || text.compare(0, 2, prefix) != 0) {
    return false;
  }
  return std::all_of(text.begin() + 2, text.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
}

caf::expected<std::optional<std::int64_t>>
optional_integer(const param_list& params, const std::string& name) {
  const auto text = find_param(params, name);
  if (!text || text->empty()) {
    return std::optional<std::int64_t>{};
  }
  const bool digits =
      text->size() <= 18 && std::all_of(text->begin(), text->end(), ::isdigit);
  if (!digits) {
    return make_error(errc::invalid_request,
                      "invalid " + name + " '" + *text +
                          "': expected a non-negative integer");
  }
  return std::optional<std::int64_t>{std::stoll(*text)};
}

std::string direction_of(const param_list& params) {
  auto direction = find_param(params, "Direction");
  return direction && !direction->empty() ? *direction : "inbound";
}

caf::expected<std::string> required_call_sid(const param_list& params) {
  auto call_sid = find_param(params, "CallSid");
  if (!call_sid || call_sid->empty()) {
    return make_error(errc::invalid_request,
                      "missing CallSid: a Twilio webhook always carries it");
  }
  if (!is_call_sid(*call_sid)) {
    return make_error(errc::invalid_request,
                      "invalid CallSid '" + *call_sid +
                          "': expected CA followed by 32 hex digits");
  }
  return *call_sid;
}

} // namespace

std::optional<std::string> find_param(const param_list& params,
                                      const std::string& name) {
  for (const auto& [key, value] : params) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

bool is_call_sid(const std::string& text) {
  return is_sid(text, "CA");
}

bool is_account_sid(const std::string& text) {
  return is_sid(text, "AC");
}

storage::timestamp_ms now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

caf::expected<storage::call_record>
call_from_webhook(const param_list& params, storage::timestamp_ms now) {
  auto call_sid = required_call_sid(params);
  if (!call_sid) {
    return std::move(call_sid.error());
  }
  storage::call_record record;
  record.call_sid = *call_sid;
  record.from = find_param(params, "From").value_or("");
  record.to = find_param(params, "To").value_or("");
  record.direction = direction_of(params);
  record.status = find_param(params, "CallStatus").value_or("ringing");
  if (!storage::is_call_status(record.status)) {
    record.status = "ringing";
  }
  record.created_at = now;
  if (record.status == "in-progress") {
    record.started_at = now;
  }
  return record;
}

caf::expected<storage::status_update>
status_from_callback(const param_list& params, storage::timestamp_ms now) {
  auto call_sid = required_call_sid(params);
  if (!call_sid) {
    return std::move(call_sid.error());
  }
  storage::status_update update;
  update.call_sid = *call_sid;
  update.status = find_param(params, "CallStatus").value_or("");
  if (!storage::is_call_status(update.status)) {
    return make_error(errc::invalid_request,
                      "invalid CallStatus '" + update.status +
                          "': expected one of Twilio's call statuses");
  }
  update.from = find_param(params, "From").value_or("");
  update.to = find_param(params, "To").value_or("");
  update.direction = direction_of(params);

  auto sequence = optional_integer(params, "SequenceNumber");
  auto duration = optional_integer(params, "CallDuration");
  if (!sequence) {
    return std::move(sequence.error());
  }
  if (!duration) {
    return std::move(duration.error());
  }
  update.sequence_number = *sequence;
  update.duration_seconds = *duration;

  update.event_time = now;
  if (auto stamp = find_param(params, "Timestamp"); stamp && !stamp->empty()) {
    int zone = 0;
    Poco::DateTime parsed;
    if (Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::RFC1123_FORMAT,
                                       *stamp, parsed, zone)) {
      parsed.makeUTC(zone);
      update.event_time = parsed.timestamp().epochMicroseconds() / 1000;
    }
  }
  return update;
}

} // namespace skyiq::actors

#include "http/json_io.hpp"

#include "storage/errors.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace skyiq::http {

namespace {

caf::error invalid(const std::string& message) {
  return make_error(errc::invalid_request, message);
}

std::string type_name(const json& value) {
  return value.type_name();
}

std::size_t utf8_length(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

caf::expected<std::string> string_value(const json& value,
                                        const std::string& name,
                                        std::size_t max_length) {
  if (!value.is_string()) {
    return invalid("field '" + name + "' must be a string, not " +
                   type_name(value));
  }
  auto text = value.get<std::string>();
  if (utf8_length(text) > max_length) {
    return invalid("field '" + name + "' is longer than " +
                   std::to_string(max_length) + " characters");
  }
  return text;
}

json optional_time(const std::optional<storage::timestamp_ms>& value) {
  return value ? json(format_time(*value)) : json(nullptr);
}

json optional_text(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

} // namespace

caf::expected<json> parse_object(const std::string& body,
                                 const std::vector<std::string>& allowed) {
  json parsed;
  try {
    parsed = json::parse(body);
  } catch (const json::parse_error& e) {
    return invalid("malformed JSON at byte " + std::to_string(e.byte) +
                   ": send a JSON object such as {\"field\": \"value\"}");
  } catch (const json::out_of_range&) {
    // nlohmann reports a number beyond a double's range this way.
    return invalid("a number in the body is out of range: send numbers "
                   "between -1.7e308 and 1.7e308");
  }
  if (!parsed.is_object()) {
    return invalid("the body must be a JSON object, not " + type_name(parsed));
  }
  for (const auto& [key, _] : parsed.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string names;
      for (const auto& name : allowed) {
        names += (names.empty() ? "" : ", ") + name;
      }
      return invalid("unknown field '" + key + "': allowed fields are " +
                     names);
    }
  }
  return parsed;
}

caf::expected<std::string> required_string(const json& object,
                                           const std::string& name,
                                           std::size_t max_length) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    return invalid("missing field '" + name + "'");
  }
  return string_value(*it, name, max_length);
}

caf::expected<std::optional<std::string>>
optional_string(const json& object, const std::string& name,
                std::size_t max_length) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    return std::optional<std::string>{};
  }
  auto text = string_value(*it, name, max_length);
  if (!text) {
    return std::move(text.error());
  }
  return std::optional<std::string>{std::move(*text)};
}

caf::expected<std::optional<std::optional<std::string>>>
patch_string(const json& object, const std::string& name,
             std::size_t max_length) {
  using field = std::optional<std::optional<std::string>>;
  const auto it = object.find(name);
  if (it == object.end()) {
    return field{};
  }
  if (it->is_null()) {
    return field{std::optional<std::string>{}};
  }
  auto text = string_value(*it, name, max_length);
  if (!text) {
    return std::move(text.error());
  }
  return field{std::optional<std::string>{std::move(*text)}};
}

namespace {

// Writes `value` as `width` decimal digits, left-padded with zeros.
void put_digits(char* out, int value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

} // namespace

std::string format_time(storage::timestamp_ms ms) {
  const std::int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const int millis = static_cast<int>(ms - seconds * 1000);
  const std::int64_t days =
      seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  const auto second_of_day = static_cast<int>(seconds - days * 86400);
  // Civil date of a day count since 1970-01-01 in the proleptic Gregorian
  // calendar (Howard Hinnant's days_from_civil, inverted), which avoids
  // gmtime_r's time zone machinery.
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(z - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
       day_of_era / 146096) /
      365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_index = (5 * day_of_year + 2) / 153;
  const auto day = static_cast<int>(day_of_year - (153 * month_index + 2) / 5 + 1);
  const auto month =
      static_cast<int>(month_index < 10 ? month_index + 3 : month_index - 9);
  const auto year =
      static_cast<int>(year_of_era + era * 400 + (month <= 2 ? 1 : 0));
  // Formatted by hand: snprintf was a tenth of a page's rendering cost.
  char text[] = "0000-00-00T00:00:00.000Z";
  put_digits(text, year, 4);
  put_digits(text + 5, month, 2);
  put_digits(text + 8, day, 2);
  put_digits(text + 11, second_of_day / 3600, 2);
  put_digits(text + 14, second_of_day / 60 % 60, 2);
  put_digits(text + 17, second_of_day % 60, 2);
  put_digits(text + 20, millis, 3);
  return std::string(text, sizeof(text) - 1);
}

// Objects are filled field by field: a braced initializer list copies
// every value once more.
json to_json(const storage::call_record& call) {
  json out = json::object();
  out["id"] = call.id;
  out["callSid"] = call.call_sid;
  out["from"] = call.from;
  out["to"] = call.to;
  out["direction"] = call.direction;
  out["status"] = call.status;
  out["createdAt"] = format_time(call.created_at);
  out["startedAt"] = optional_time(call.started_at);
  out["endedAt"] = optional_time(call.ended_at);
  out["durationSeconds"] =
      call.duration_seconds ? json(*call.duration_seconds) : json(nullptr);
  return out;
}

json to_json(const storage::call_page& page) {
  json calls = json::array();
  calls.get_ref<json::array_t&>().reserve(page.calls.size());
  for (const auto& call : page.calls) {
    calls.push_back(to_json(call));
  }
  json out = json::object();
  out["calls"] = std::move(calls);
  out["nextCursor"] =
      page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor);
  return out;
}

namespace {

// Appends `text` as a JSON string. Printable ASCII without quotes or
// backslashes (ids, CallSids, E.164 numbers, statuses) is copied as it is.
// Anything else goes through nlohmann's serializer, so that escapes and
// U+FFFD replacements match `json::dump` exactly.
void put_string(std::string& out, const std::string& text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    out += json(text).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

// Appends a field name, after a comma unless it is the object's first.
void put_field(std::string& out, const char* name, bool first = false) {
  if (!first) {
    out += ',';
  }
  out += '"';
  out += name;
  out += "\":";
}

void put_time(std::string& out,
              const std::optional<storage::timestamp_ms>& value) {
  if (!value) {
    out += "null";
    return;
  }
  out += '"';
  out += format_time(*value);
  out += '"';
}

// Writes the fields in the order of nlohmann's std::map-based objects,
// which sort their keys.
void put_call(std::string& out, const storage::call_record& call) {
  put_field(out, "callSid", true);
  put_string(out, call.call_sid);
  put_field(out, "createdAt");
  put_time(out, call.created_at);
  put_field(out, "direction");
  put_string(out, call.direction);

  put_field(out, "durationSeconds");
  out += call.duration_seconds ? std::to_string(*call.duration_seconds)
                               : std::string("null");
  put_field(out, "endedAt");
  put_time(out, call.ended_at);

  put_field(out, "from");
  put_string(out, call.from);
  put_field(out, "id");
  put_string(out, call.id);
  put_field(out, "startedAt");
  put_time(out, call.started_at);
  put_field(out, "status");
  put_string(out, call.status);
  put_field(out, "to");
  put_string(out, call.to);
}

} // namespace

std::string dump_call_page(const storage::call_page& page) {
  std::string out;
  out.reserve(64 + 400 * page.calls.size());
  out += "{\"calls\":[";
  for (std::size_t i = 0; i < page.calls.size(); ++i) {
    out += i == 0 ? "{" : ",{";
    put_call(out, page.calls[i]);
    out += '}';
  }
  out += ']';
  put_field(out, "nextCursor");
  if (page.next_cursor.empty()) {
    out += "null";
  } else {
    put_string(out, page.next_cursor);
  }
  out += '}';
  return out;
}

json to_json(const storage::business_profile& profile) {
  return {
      {"businessName", optional_text(profile.business_name)},
      {"greeting", optional_text(profile.greeting)},
      {"timezone", optional_text(profile.timezone)},
      {"hours", optional_text(profile.hours)},
      {"forwardTo", optional_text(profile.forward_to)},
  };
}

json to_json(const actors::setup_result& result) {
  return {
      {"phoneNumber", result.phone_number},
      {"phoneNumberSid", result.phone_number_sid},
      {"voiceUrl", result.voice_url},
      {"statusCallback", result.status_callback},
  };
}

json to_json(const actors::number_list& numbers) {
  json list = json::array();
  for (const auto& n : numbers) {
    list.push_back({
        {"phoneNumber", n.phone_number},
        {"phoneNumberSid", n.phone_number_sid},
        {"friendlyName", n.friendly_name},
        {"voiceUrl", n.voice_url},
        {"claimedByYou", n.claimed_by_you},
    });
  }
  return {{"numbers", list}};
}

} // namespace skyiq::http

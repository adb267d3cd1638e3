#include "actors/twilio/phone_number.hpp"

#include "storage/errors.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cctype>

namespace skyiq::twilio {

namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Longer than any formatted number ("+44 (0) 20 7946 0958" has 20
// characters) yet short enough to keep attacker input out of the parser.
constexpr std::size_t max_input_length = 40;

constexpr const char* e164_hint =
    " Give it in E.164 form, such as +14155550123.";

// Shows the input with control characters replaced, so that an error
// message cannot carry a line break into a log.
std::string printable(const std::string& input) {
  std::string result = input;
  for (char& c : result) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      c = '?';
    }
  }
  return result;
}

caf::error invalid(const std::string& input, const std::string& reason) {
  return make_error(errc::invalid_phone_number,
                    "'" + printable(input) +
                        "' is not a possible phone number (" + reason + ")." +
                        e164_hint);
}

// Letters would be read as a vanity number (1-800-FLOWERS) and other
// symbols could smuggle an extension, so only digits and the separators
// people type are accepted.
bool has_only_number_characters(const std::string& input) {
  return std::all_of(input.begin(), input.end(), [](unsigned char c) {
    return std::isdigit(c) != 0 || c == '+' || c == ' ' || c == '-' ||
           c == '.' || c == '(' || c == ')' || c == '/';
  });
}

std::string describe_parse_error(PhoneNumberUtil::ErrorType error) {
  switch (error) {
  case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
    return "unknown country code";
  case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
  case PhoneNumberUtil::TOO_SHORT_NSN:
    return "too short";
  case PhoneNumberUtil::TOO_LONG_NSN:
    return "too long";
  default:
    return "not a number";
  }
}

// Returns why `number` is not possible, or an empty string when it is.
std::string impossibility(const PhoneNumberUtil& util,
                          const PhoneNumber& number) {
  switch (util.IsPossibleNumberWithReason(number)) {
  case PhoneNumberUtil::IS_POSSIBLE:
    return "";
  case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
    return "a local number without its area code";
  case PhoneNumberUtil::INVALID_COUNTRY_CODE:
    return "unknown country code";
  case PhoneNumberUtil::TOO_SHORT:
    return "too short";
  case PhoneNumberUtil::TOO_LONG:
    return "too long";
  case PhoneNumberUtil::INVALID_LENGTH:
    return "wrong length for its country";
  }
  return "not a number";
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) {
    return "";
  }
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

} // namespace

caf::expected<std::string> normalize_e164(const std::string& input,
                                          const std::string& default_region) {
  if (input.size() > max_input_length) {
    return make_error(errc::invalid_phone_number,
                      "phone number of " + std::to_string(input.size()) +
                          " characters is too long (at most " +
                          std::to_string(max_input_length) + ")." + e164_hint);
  }
  const auto text = trimmed(input);
  if (text.empty()) {
    return make_error(errc::invalid_phone_number,
                      std::string{"phone number is empty."} + e164_hint);
  }
  if (!has_only_number_characters(text)) {
    return invalid(input, "only digits, '+', spaces and - . ( ) / are "
                          "allowed");
  }

  std::string region = default_region;
  std::transform(region.begin(), region.end(), region.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  const auto& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  const auto parsed = util.Parse(text, region, &number);
  if (parsed == PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR &&
      text.front() != '+') {
    return invalid(input, "no country code, and the default region '" +
                              default_region + "' is unknown");
  }
  if (parsed != PhoneNumberUtil::NO_PARSING_ERROR) {
    return invalid(input, describe_parse_error(parsed));
  }
  if (const auto reason = impossibility(util, number); !reason.empty()) {
    return invalid(input, reason);
  }

  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  if (!is_e164(e164)) {
    return invalid(input, "not an E.164 number");
  }
  // A national trunk prefix kept after the country code (+49 0...) yields
  // a string that parses to another number. Such input is rejected, so
  // that a normalized number always normalizes to itself.
  PhoneNumber again;
  std::string again_e164;
  if (util.Parse(e164, "ZZ", &again) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return invalid(input, "not an E.164 number");
  }
  util.Format(again, PhoneNumberUtil::E164, &again_e164);
  if (again_e164 != e164) {
    return invalid(input, "it keeps a national trunk prefix after the "
                          "country code; drop the 0 after the country code");
  }
  return e164;
}

bool is_e164(const std::string& value) {
  if (value.size() < 8 || value.size() > 16 || value[0] != '+' ||
      value[1] < '1' || value[1] > '9') {
    return false;
  }
  return std::all_of(value.begin() + 1, value.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

} // namespace skyiq::twilio

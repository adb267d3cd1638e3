#include "actors/twilio/signature.hpp"

#include "storage/errors.hpp"

#include <catch2/catch.hpp>

using skyiq::twilio::compute_signature;
using skyiq::twilio::form_encode;
using skyiq::twilio::form_params;
using skyiq::twilio::parse_form;
using skyiq::twilio::percent_encode;
using skyiq::twilio::validate_signature;

namespace {

// The request of the RequestValidator tests in Twilio's helper libraries
// (twilio-python, twilio-java, twilio-go).
const std::string token = "12345";
const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
const std::string url_with_port =
    "https://mycompany.com:443/myapp.php?foo=1&bar=2";
const form_params params = {
    {"CallSid", "CA1234567890ABCDE"},
    {"Caller", "+14158675309"},
    {"Digits", "1234"},
    {"From", "+14158675309"},
    {"To", "+18005551212"},
};

form_params with_reason_params() {
  auto result = params;
  result.emplace_back("ReasonConferenceEnded", "test");
  result.emplace_back("Reason", "Participant");
  return result;
}

} // namespace

TEST_CASE("signature matches Twilio's published vector") {
  CHECK(compute_signature(token, url, params) ==
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
}

TEST_CASE("signature does not depend on parameter order") {
  form_params shuffled(params.rbegin(), params.rend());
  CHECK(compute_signature(token, url, shuffled) ==
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
}

TEST_CASE("signature covers an explicit port 443") {
  CHECK(compute_signature(token, url_with_port, params) ==
        "kvajT1Ptam85bY51eRf/AJRuM3w=");
}

TEST_CASE("signature keeps the case of the host") {
  const std::string mixed_case = "https://MyCompany.com/myapp.php?foo=1&bar=2";
  CHECK(compute_signature(token, mixed_case, params) ==
        "g9IN/x4Cft2g517EjYvEvM/W7LU=");
  CHECK_FALSE(validate_signature(token, mixed_case, params,
                                 "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

TEST_CASE("signature sorts names, not joined pairs") {
  const auto reason_params = with_reason_params();
  CHECK(compute_signature(token, url, reason_params) ==
        "vOEb5UThFn24KEfnOFLQY2AE5FY=");
  CHECK(validate_signature(token, url, reason_params,
                           "vOEb5UThFn24KEfnOFLQY2AE5FY="));
  CHECK_FALSE(validate_signature(token, url, reason_params,
                                 "95+Bu0JVPi0r/SsESZCVf0dWAjw="));
}

TEST_CASE("signature sorts the values of a repeated name") {
  // twilio-python's vector for a MultiDict with a repeated Digits.
  const form_params repeated = {{"Sid", "CA123"},
                                {"SidAccount", "AC123"},
                                {"Digits", "5678"},
                                {"Digits", "1234"}};
  CHECK(compute_signature(token, url, repeated) ==
        "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
}

TEST_CASE("signature keeps a non-default http port") {
  const std::string http_url =
      "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
  CHECK(compute_signature(token, http_url, params) ==
        "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=");
  CHECK(validate_signature(token, http_url, params,
                           "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
}

TEST_CASE("validation accepts the exact signature") {
  CHECK(validate_signature(token, url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

TEST_CASE("validation adds the default https port") {
  CHECK(validate_signature(token, url, params, "kvajT1Ptam85bY51eRf/AJRuM3w="));
}

TEST_CASE("validation removes the default https port") {
  CHECK(validate_signature(token, url_with_port, params,
                           "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  CHECK(validate_signature(token, url_with_port, params,
                           "kvajT1Ptam85bY51eRf/AJRuM3w="));
}

TEST_CASE("validation adds the default http port") {
  const std::string http_url = "http://mycompany.com/myapp.php?foo=1&bar=2";
  CHECK(validate_signature(token, http_url, params,
                           "0ZXoZLH/DfblKGATFgpif+LLRf4="));
}

TEST_CASE("validation removes the default http port") {
  const std::string http_with_port =
      "http://mycompany.com:80/myapp.php?foo=1&bar=2";
  const auto without_port = compute_signature(
      token, "http://mycompany.com/myapp.php?foo=1&bar=2", params);
  CHECK(validate_signature(token, http_with_port, params, without_port));
}

TEST_CASE("validation keeps a non-default port") {
  const std::string other_port =
      "https://mycompany.com:8443/myapp.php?foo=1&bar=2";
  CHECK_FALSE(validate_signature(token, other_port, params,
                                 "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  CHECK(validate_signature(token, other_port, params,
                           compute_signature(token, other_port, params)));
}

TEST_CASE("validation ignores port 443 on http") {
  const std::string http_443 = "http://mycompany.com:443/myapp.php";
  const auto without_port =
      compute_signature(token, "http://mycompany.com/myapp.php", params);
  CHECK_FALSE(validate_signature(token, http_443, params, without_port));
}

TEST_CASE("validation handles an IPv6 host") {
  const auto with_port =
      compute_signature(token, "https://[::1]:443/hook", params);
  CHECK(validate_signature(token, "https://[::1]/hook", params, with_port));
  const auto without_port =
      compute_signature(token, "https://[::1]/hook", params);
  CHECK(validate_signature(token, "https://[::1]:443/hook", params,
                           without_port));
}

TEST_CASE("validation adds the port to a URL without a path") {
  const auto with_port =
      compute_signature(token, "https://mycompany.com:443", params);
  CHECK(validate_signature(token, "https://mycompany.com", params, with_port));
}

TEST_CASE("validation rejects wrong signatures") {
  CHECK_FALSE(validate_signature(token, url, params, ""));
  CHECK_FALSE(validate_signature(token, url, params,
                                 "NOTRSOYDt4T1cUTdK1PDd93/VVr8B8="));
  CHECK_FALSE(
      validate_signature(token, url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=\n"));
  CHECK_FALSE(
      validate_signature("54321", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

TEST_CASE("validation rejects a changed parameter") {
  auto changed = params;
  changed[2].second = "1235";
  CHECK_FALSE(
      validate_signature(token, url, changed, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

TEST_CASE("validation rejects an added parameter") {
  auto added = params;
  added.emplace_back("AccountSid", "AC00000000000000000000000000000000");
  CHECK_FALSE(
      validate_signature(token, url, added, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

TEST_CASE("validation rejects a changed query") {
  CHECK_FALSE(validate_signature(token, "https://mycompany.com/myapp.php?foo=1",
                                 params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

TEST_CASE("form parser decodes plus and percent escapes") {
  const auto parsed = parse_form("From=%2B14158675309&Body=hello+world%21");
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 2);
  CHECK((*parsed)[0] ==
        std::make_pair(std::string("From"), std::string("+14158675309")));
  CHECK((*parsed)[1] ==
        std::make_pair(std::string("Body"), std::string("hello world!")));
}

TEST_CASE("form parser keeps repeated names in arrival order") {
  const auto parsed = parse_form("Digits=5678&Sid=CA123&Digits=1234");
  REQUIRE(parsed);
  const form_params expected = {
      {"Digits", "5678"}, {"Sid", "CA123"}, {"Digits", "1234"}};
  CHECK(*parsed == expected);
}

TEST_CASE("form parser keeps empty values") {
  const auto parsed = parse_form("CallerName=&Flag&To=%2B1");
  REQUIRE(parsed);
  const form_params expected = {{"CallerName", ""}, {"Flag", ""}, {"To", "+1"}};
  CHECK(*parsed == expected);
}

TEST_CASE("form parser keeps case and encoded separators") {
  const auto parsed = parse_form("to=a&To=b%26c%3Dd");
  REQUIRE(parsed);
  const form_params expected = {{"to", "a"}, {"To", "b&c=d"}};
  CHECK(*parsed == expected);
}

TEST_CASE("form parser skips empty fields") {
  const auto parsed = parse_form("&a=1&&b=2&");
  REQUIRE(parsed);
  const form_params expected = {{"a", "1"}, {"b", "2"}};
  CHECK(*parsed == expected);
  const auto empty = parse_form("");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("form parser decodes UTF-8 and raw bytes") {
  const auto parsed = parse_form("Name=Jos%C3%A9&Raw=%00%FF");
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 2);
  CHECK((*parsed)[0].second == "Jos\xC3\xA9");
  CHECK((*parsed)[1].second == std::string("\x00\xFF", 2));
}

TEST_CASE("form parser rejects malformed percent escapes") {
  for (const auto* body : {"a=%zz", "a=%4", "a=%", "a%2=1", "a=1&b=%G0"}) {
    INFO(body);
    const auto parsed = parse_form(body);
    REQUIRE_FALSE(parsed);
    CHECK(skyiq::code_of(parsed.error()) == skyiq::errc::invalid_request);
    CHECK(skyiq::message_of(parsed.error()).find("percent escape") !=
          std::string::npos);
  }
}

TEST_CASE("form parser error locates the escape") {
  const auto parsed = parse_form("To=%2B1&Body=100%");
  REQUIRE_FALSE(parsed);
  const auto message = skyiq::message_of(parsed.error());
  CHECK(message.find("'%'") != std::string::npos);
  CHECK(message.find("byte 16") != std::string::npos);
}

TEST_CASE("form encoder round-trips through the parser") {
  const form_params original = {{"VoiceUrl", "https://x.example/a?b=c&d"},
                                {"Friendly Name", "50% off + more"},
                                {"Empty", ""},
                                {"Name", "Jos\xC3\xA9~_.-"}};
  const auto body = form_encode(original);
  CHECK(body.find(' ') == std::string::npos);
  const auto parsed = parse_form(body);
  REQUIRE(parsed);
  CHECK(*parsed == original);
}

TEST_CASE("form encoder escapes plus and space differently") {
  CHECK(form_encode({{"To", "+1 415"}}) == "To=%2B1+415");
  CHECK(percent_encode("+1 415") == "%2B1%20415");
}

TEST_CASE("parsed webhook body validates against its signature") {
  const std::string body =
      "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234"
      "&From=%2B14158675309&To=%2B18005551212";
  const auto parsed = parse_form(body);
  REQUIRE(parsed);
  CHECK(
      validate_signature(token, url, *parsed, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

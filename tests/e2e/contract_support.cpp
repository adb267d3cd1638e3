#include "tests/e2e/contract_support.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/HMACEngine.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/SHA1Engine.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace skyiq::testing {

namespace {

json parse_or_null(const std::string& body) {
  return json::parse(body, nullptr, false);
}

std::string error_field(const http_reply& reply, const char* field) {
  const auto body = parse_or_null(reply.body);
  if (!body.is_object() || !body.contains("error") ||
      !body["error"].is_object()) {
    return "";
  }
  const auto& value = body["error"].value(field, json());
  return value.is_string() ? value.get<std::string>() : "";
}

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string percent_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (is_unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof(escaped), "%%%02X", c);
      out += escaped;
    }
  }
  return out;
}

} // namespace

std::string error_code(const http_reply& reply) {
  return error_field(reply, "code");
}

std::string error_message(const http_reply& reply) {
  return error_field(reply, "message");
}

std::string setup_body(const std::string& account_sid,
                       const std::string& auth_token,
                       const std::string& phone_number) {
  return json{{"accountSid", account_sid},
              {"authToken", auth_token},
              {"phoneNumber", phone_number}}
      .dump();
}

std::string setup_body(const twilio_account& account) {
  return setup_body(account.sid, account.token, account.number);
}

http_reply post_setup(gateway_fixture& fx, const session& user,
                      const std::string& body) {
  return fx.client().post_json("/api/twilio/setup/" + user.user_id, body,
                               user.token);
}

http_reply post_numbers(gateway_fixture& fx, const session& user,
                        const std::string& body) {
  return fx.client().post_json("/api/twilio/numbers/" + user.user_id, body,
                               user.token);
}

json find_number(const json& list, const std::string& e164) {
  if (!list.is_object() || !list.contains("numbers")) {
    return json();
  }
  for (const auto& entry : list["numbers"]) {
    if (entry.value("phoneNumber", "") == e164) {
      return entry;
    }
  }
  return json();
}

std::string number_sid(int seed) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "PNc%031x", seed);
  return buffer;
}

void set_voice_url(const fake_twilio& twilio, const twilio_account& account,
                   const std::string& number_sid, const std::string& url) {
  Poco::Net::HTTPClientSession session("127.0.0.1", twilio.port());
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST,
                                 "/2010-04-01/Accounts/" + account.sid +
                                     "/IncomingPhoneNumbers/" + number_sid +
                                     ".json",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  Poco::Net::HTTPBasicCredentials(account.sid, account.token)
      .authenticate(request);
  const auto body = reference_form_encode({{"VoiceUrl", url}});
  request.setContentType("application/x-www-form-urlencoded");
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::string ignored;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), ignored);
  REQUIRE(response.getStatus() == 200);
}

void check_no_credentials(gateway_fixture& fx, const session& user) {
  const auto numbers = post_numbers(fx, user, "{}");
  INFO("numbers list: " << numbers.body);
  CHECK(numbers.status == 422);
  CHECK(error_code(numbers) == "twilio_not_connected");
}

void check_unclaimed(gateway_fixture& fx, const twilio_account& twilio,
                     const std::string& e164) {
  auto http = fx.client();
  const auto voice = post_signed(
      http, "/api/twilio/webhook", public_base_url, twilio.token,
      voice_params(twilio.sid, random_call_sid(), "+14155550100", e164));
  INFO("voice webhook to " << e164 << ": " << voice.body);
  CHECK(voice.status == 200);
  CHECK(voice.body.find("<Reject/>") != std::string::npos);
}

std::string reference_form_encode(const form_fields& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) {
      body += '&';
    }
    body += percent_encode(name) + '=' + percent_encode(value);
  }
  return body;
}

std::string reference_signature(const std::string& auth_token,
                                const std::string& url,
                                const form_fields& fields) {
  std::map<std::string, std::multiset<std::string>> sorted;
  for (const auto& [name, value] : fields) {
    sorted[name].insert(value);
  }
  std::string data = url;
  for (const auto& [name, values] : sorted) {
    for (const auto& value : values) {
      data += name + value;
    }
  }
  Poco::HMACEngine<Poco::SHA1Engine> hmac(auth_token);
  hmac.update(data);
  const auto& digest = hmac.digest();
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.write(reinterpret_cast<const char*>(digest.data()),
                static_cast<std::streamsize>(digest.size()));
  encoder.close();
  return out.str();
}

http_reply post_reference_signed(http_client& client, const std::string& target,
                                 const std::string& signed_url,
                                 const std::string& auth_token,
                                 const form_fields& fields) {
  return client.send("POST", target, reference_form_encode(fields),
                     {{"X-Twilio-Signature",
                       reference_signature(auth_token, signed_url, fields)}},
                     "application/x-www-form-urlencoded");
}

http_reply parse_raw_reply(const std::string& bytes) {
  http_reply reply;
  const auto head_end = bytes.find("\r\n\r\n");
  const auto head = bytes.substr(0, head_end);
  std::istringstream lines(head);
  std::string line;
  if (std::getline(lines, line) && line.rfind("HTTP/1.", 0) == 0 &&
      line.size() >= 12) {
    reply.status = std::stoi(line.substr(9, 3));
  }
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    reply.headers[line.substr(0, colon)] = value;
  }
  if (head_end != std::string::npos) {
    reply.body = bytes.substr(head_end + 4);
  }
  return reply;
}

double metric_value(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) {
      return std::stod(line.substr(name.size() + 1));
    }
  }
  return -1;
}

} // namespace skyiq::testing

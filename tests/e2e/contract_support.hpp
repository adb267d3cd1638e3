#pragma once

// Helpers for the end-to-end contract tests: error bodies, setup and
// numbers requests, direct calls to the fake Twilio, and a webhook signer
// written apart from actors/twilio so that a shared mistake cannot pass.

#include "tests/e2e/fixture.hpp"

#include <string>
#include <utility>
#include <vector>

namespace skyiq::testing {

using form_fields = std::vector<std::pair<std::string, std::string>>;

/// The `error.code` of an error body, or "" when the body is not
/// `{"error": {"code", "message"}}`.
std::string error_code(const http_reply& reply);

/// The `error.message` of an error body, or "" when there is none.
std::string error_message(const http_reply& reply);

/// The JSON body of `POST /api/twilio/setup/:userId`.
std::string setup_body(const std::string& account_sid,
                       const std::string& auth_token,
                       const std::string& phone_number);

/// The setup body that connects `account`'s own number.
std::string setup_body(const twilio_account& account);

http_reply post_setup(gateway_fixture& fx, const session& user,
                      const std::string& body);

/// Posts `body` to `POST /api/twilio/numbers/:userId`.
http_reply post_numbers(gateway_fixture& fx, const session& user,
                        const std::string& body = "{}");

/// The entry for `e164` in a numbers list, or null JSON when it is absent.
json find_number(const json& list, const std::string& e164);

/// A phone number SID ("PN" and 32 hex digits) for `seed`, distinct from
/// the SIDs that gateway_fixture::add_twilio_account makes.
std::string number_sid(int seed);

/// Sets a number's VoiceUrl through the fake's REST API, as the customer's
/// own configuration before the gateway touches it.
void set_voice_url(const fake_twilio& twilio, const twilio_account& account,
                   const std::string& number_sid, const std::string& url);

/// Checks that `user` has no stored Twilio credentials: the numbers list
/// without a body is 422 twilio_not_connected.
void check_no_credentials(gateway_fixture& fx, const session& user);

/// Checks that `e164` routes to no Sky IQ account: a voice webhook to it,
/// signed for `twilio`, gets the TwiML <Reject/> response.
void check_unclaimed(gateway_fixture& fx, const twilio_account& twilio,
                     const std::string& e164);

/// Form-encodes `fields` in their order with `%XX` for every byte outside
/// RFC 3986's unreserved set.
std::string reference_form_encode(const form_fields& fields);

/// Computes X-Twilio-Signature as twilio-python's RequestValidator does:
/// HMAC-SHA1 keyed with the auth token over the URL, then each name in
/// byte order followed by each of its values in byte order, in base64.
std::string reference_signature(const std::string& auth_token,
                                const std::string& url,
                                const form_fields& fields);

/// Posts `fields` form-encoded to `target`, signed with the reference
/// signer over `signed_url`.
http_reply post_reference_signed(http_client& client, const std::string& target,
                                 const std::string& signed_url,
                                 const std::string& auth_token,
                                 const form_fields& fields);

/// Parses the bytes of one HTTP/1.1 response as send_raw returns them.
/// The status is 0 when no status line arrived.
http_reply parse_raw_reply(const std::string& bytes);

/// The value of an unlabelled sample `name` in Prometheus text, or -1 when
/// the sample is missing.
double metric_value(const std::string& text, const std::string& name);

} // namespace skyiq::testing

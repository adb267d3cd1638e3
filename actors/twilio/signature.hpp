#pragma once

#include <caf/expected.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skyiq::twilio {

/// Form fields in arrival order. Names are case-sensitive and may repeat.
using form_params = std::vector<std::pair<std::string, std::string>>;

/// Parses an `application/x-www-form-urlencoded` body. Fields are split on
/// `&`, `+` decodes to a space and `%XX` to its byte. Repeated names, their
/// arrival order and empty values are kept. A field without `=` has an
/// empty value, and empty fields (`a=1&&b=2`) are skipped. A `%` that is not
/// followed by two hex digits is an `errc::invalid_request` error.
caf::expected<form_params> parse_form(std::string_view body);

/// Encodes `params` as a form body in their order. Unreserved characters
/// (RFC 3986) stay as they are, a space becomes `+`, every other byte is
/// percent-encoded.
std::string form_encode(const form_params& params);

/// Percent-encodes every byte of `text` except RFC 3986 unreserved
/// characters, so the result is safe in a query value or a path segment.
std::string percent_encode(std::string_view text);

/// Computes Twilio's `X-Twilio-Signature` for a request: the base64 of
/// HMAC-SHA1, keyed with the auth token, over `url` followed by each
/// parameter's name and value. Parameters are sorted byte-wise by name and
/// then by value, so the values of a repeated name are sorted too.
std::string compute_signature(const std::string& auth_token,
                              const std::string& url,
                              const form_params& params);

/// Checks `header` against the signature of `url` and `params` in constant
/// time. The URL is tried as given and, for http and https, also with its
/// default port (:80 or :443) added when absent or removed when present,
/// because Twilio may sign either form. Other ports must match exactly.
bool validate_signature(const std::string& auth_token, const std::string& url,
                        const form_params& params, const std::string& header);

} // namespace skyiq::twilio

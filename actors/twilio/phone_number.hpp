#pragma once

#include <caf/expected.hpp>

#include <string>

namespace skyiq::twilio {

/// Normalizes a phone number typed by a person or sent by Twilio to E.164
/// (`+` and up to 15 digits). A number without a leading `+` is read as
/// dialled in `default_region` (an ISO 3166 code such as "US" or "GB").
/// The number must be *possible* for its country (right length for the
/// country code) but need not be in a range listed in libphonenumber's
/// metadata, because Debian ships metadata from 2022 and Twilio's ownership
/// check is the authority. Empty, over-long, lettered (vanity), partial
/// and local-only numbers are `errc::invalid_phone_number` errors.
/// Thread-safe.
caf::expected<std::string> normalize_e164(const std::string& input,
                                          const std::string& default_region);

/// Checks that `value` is already in E.164 form: `+`, a first digit from 1
/// to 9 (country codes never start with 0) and 7 to 15 digits in all. The
/// shortest numbers in use, such as Saint Helena's +290 XXXX, have 7.
bool is_e164(const std::string& value);

} // namespace skyiq::twilio

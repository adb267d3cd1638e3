#pragma once

#include "storage/types.hpp"

#include <string>

namespace skyiq::actors {

/// Escapes the five XML special characters.
std::string xml_escape(const std::string& text);

/// Builds the TwiML response to a voice webhook: `<Say>` with the business greeting
/// (or a generic one naming the business), then `<Dial>` to `forwardTo`
/// when it is set.
std::string render_answer(const storage::business_profile& profile);

/// Returns the TwiML for a number no account has claimed; Twilio does not bill a
/// rejected call.
std::string render_reject();

} // namespace skyiq::actors

#pragma once

#include "actors/messages.hpp"

#include <optional>
#include <string>

namespace skyiq::actors {

using param_list = std::vector<std::pair<std::string, std::string>>;

/// Returns the first value of `name`, or nothing when it is absent.
std::optional<std::string> find_param(const param_list& params,
                                      const std::string& name);

/// True for `CA` followed by 32 lower- or upper-case hex digits.
bool is_call_sid(const std::string& text);

/// True for `AC` followed by 32 hex digits.
bool is_account_sid(const std::string& text);

/// Builds the call record of a voice webhook. Errors: invalid_request
/// naming a missing or malformed CallSid.
caf::expected<storage::call_record>
call_from_webhook(const param_list& params, storage::timestamp_ms now);

/// Builds a status update from a status callback's CallStatus,
/// CallDuration, SequenceNumber and Timestamp. Errors: invalid_request
/// naming the field.
caf::expected<storage::status_update>
status_from_callback(const param_list& params, storage::timestamp_ms now);

/// Milliseconds since the epoch, now.
storage::timestamp_ms now_ms();

} // namespace skyiq::actors

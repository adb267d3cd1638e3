#pragma once

#include "actors/messages.hpp"
#include "storage/types.hpp"

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace skyiq::http {

using json = nlohmann::json;

/// Parses a request body that must be a JSON object with no fields beyond
/// `allowed`. Errors name the byte position of a syntax error or the
/// unknown field.
caf::expected<json> parse_object(const std::string& body,
                                 const std::vector<std::string>& allowed);

/// A string field that must be present and at most `max_length` bytes.
caf::expected<std::string> required_string(const json& object,
                                           const std::string& name,
                                           std::size_t max_length);

/// A string field that may be absent or null.
caf::expected<std::optional<std::string>>
optional_string(const json& object, const std::string& name,
                std::size_t max_length);

/// A field of a partial update: absent (outer empty), null (inner empty)
/// or a string of at most `max_length` characters.
caf::expected<std::optional<std::optional<std::string>>>
patch_string(const json& object, const std::string& name,
             std::size_t max_length);

/// Formats milliseconds since the epoch as RFC 3339 UTC with milliseconds.
std::string format_time(storage::timestamp_ms ms);

json to_json(const storage::call_record& call);
json to_json(const storage::call_page& page);
/// Returns `to_json(page).dump()` with invalid UTF-8 replaced by U+FFFD,
/// written straight into one string without building the JSON tree.
std::string dump_call_page(const storage::call_page& page);
json to_json(const storage::business_profile& profile);
json to_json(const actors::setup_result& result);
json to_json(const actors::number_list& numbers);

} // namespace skyiq::http

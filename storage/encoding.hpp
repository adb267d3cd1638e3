#pragma once

// Byte-string encodings used inside storage: hex for the master key file
// and digests, base64 for sealed secrets, base64url for ids, tokens and
// page cursors.

#include <optional>
#include <string>
#include <string_view>

namespace skyiq::storage {

/// Encodes `bytes` as lower-case hex.
std::string hex_encode(std::string_view bytes);

/// Decodes hex of either case; nullopt on an odd length or a non-hex
/// character.
std::optional<std::string> hex_decode(std::string_view text);

/// Encodes `bytes` as standard base64 with padding and no line breaks.
std::string base64_encode(std::string_view bytes);

/// Decodes padded standard base64; nullopt on any other input.
std::optional<std::string> base64_decode(std::string_view text);

/// Encodes `bytes` as base64url (RFC 4648, section 5) without padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url; nullopt on padding, a foreign character or
/// a length that no encoding produces.
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace skyiq::storage

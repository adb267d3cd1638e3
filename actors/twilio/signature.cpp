#include "actors/twilio/signature.hpp"

#include "storage/errors.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace skyiq::twilio {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Shows the bytes of a bad escape without echoing control characters.
std::string printable(std::string_view text) {
  std::string result;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    result += (byte >= 0x20 && byte < 0x7f) ? c : '?';
  }
  return result;
}

// Decodes one name or value that starts at byte `offset` of the body.
caf::expected<std::string> decode_component(std::string_view text,
                                            std::size_t offset) {
  std::string result;
  result.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    // Copies the run of characters up to the next escape in one append.
    const auto special = std::min(text.find_first_of("+%", i), text.size());
    if (special > i) {
      result.append(text.data() + i, special - i);
      i = special - 1;
      continue;
    }
    if (text[i] == '+') {
      result += ' ';
      continue;
    }
    if (text[i] != '%') {
      result += text[i];
      continue;
    }
    const int high = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return make_error(errc::invalid_request,
                        "form body has an invalid percent escape '" +
                            printable(text.substr(i, 3)) + "' at byte " +
                            std::to_string(offset + i) +
                            ": encode a literal '%' as %25");
    }
    result += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return result;
}

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string encode_component(std::string_view text, bool space_as_plus) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string result;
  result.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte)) {
      result += c;
    } else if (space_as_plus && c == ' ') {
      result += '+';
    } else {
      result += '%';
      result += digits[byte >> 4];
      result += digits[byte & 0x0f];
    }
  }
  return result;
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string result(4 * ((size + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(result.data()), data,
                      static_cast<int>(size));
  result.resize(static_cast<std::size_t>(written));
  return result;
}

// Returns the URL with the default port of its scheme added or removed, or
// nothing when the scheme has no default port or the port is another one.
std::optional<std::string> toggle_default_port(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return std::nullopt;
  }
  std::string scheme = url.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string default_port;
  if (scheme == "https") {
    default_port = "443";
  } else if (scheme == "http") {
    default_port = "80";
  } else {
    return std::nullopt;
  }

  const auto authority_begin = scheme_end + 3;
  auto authority_end = url.find_first_of("/?#", authority_begin);
  if (authority_end == std::string::npos) {
    authority_end = url.size();
  }
  const auto at = url.rfind('@', authority_end - 1);
  auto host_begin = authority_begin;
  if (at != std::string::npos && at >= authority_begin) {
    host_begin = at + 1;
  }
  auto host_end = host_begin;
  if (host_begin < authority_end && url[host_begin] == '[') {
    const auto bracket = url.find(']', host_begin);
    if (bracket == std::string::npos || bracket >= authority_end) {
      return std::nullopt;
    }
    host_end = bracket + 1;
  } else {
    host_end = std::min(url.find(':', host_begin), authority_end);
  }

  if (host_end == authority_end) {
    return url.substr(0, host_end) + ":" + default_port + url.substr(host_end);
  }
  if (url[host_end] != ':') {
    return std::nullopt;
  }
  const auto port = url.substr(host_end + 1, authority_end - host_end - 1);
  if (port != default_port) {
    return std::nullopt;
  }
  return url.substr(0, host_end) + url.substr(authority_end);
}

bool equal_in_constant_time(const std::string& expected,
                            const std::string& header) {
  return expected.size() == header.size() &&
         CRYPTO_memcmp(expected.data(), header.data(), expected.size()) == 0;
}

} // namespace

caf::expected<form_params> parse_form(std::string_view body) {
  form_params params;
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('&', start);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    const auto field = body.substr(start, end - start);
    if (!field.empty()) {
      const auto equals = std::min(field.find('='), field.size());
      auto name = decode_component(field.substr(0, equals), start);
      if (!name) {
        return std::move(name.error());
      }
      const auto raw_value =
          equals < field.size() ? field.substr(equals + 1) : std::string_view{};
      auto value = decode_component(raw_value, start + equals + 1);
      if (!value) {
        return std::move(value.error());
      }
      params.emplace_back(std::move(*name), std::move(*value));
    }
    start = end + 1;
  }
  return params;
}

std::string form_encode(const form_params& params) {
  std::string body;
  for (const auto& [name, value] : params) {
    if (!body.empty()) {
      body += '&';
    }
    body += encode_component(name, true);
    body += '=';
    body += encode_component(value, true);
  }
  return body;
}

std::string percent_encode(std::string_view text) {
  return encode_component(text, false);
}

std::string compute_signature(const std::string& auth_token,
                              const std::string& url,
                              const form_params& params) {
  auto sorted = params;
  std::sort(sorted.begin(), sorted.end());
  std::string data = url;
  for (const auto& [name, value] : sorted) {
    data += name;
    data += value;
  }

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       digest.data(), &digest_size);
  return base64(digest.data(), digest_size);
}

bool validate_signature(const std::string& auth_token, const std::string& url,
                        const form_params& params, const std::string& header) {
  // The second form is hashed only when the first fails. Which form
  // matched is no secret: the sender chose the URL it signed.
  if (equal_in_constant_time(compute_signature(auth_token, url, params),
                             header)) {
    return true;
  }
  const auto other = toggle_default_port(url);
  return other && equal_in_constant_time(
                      compute_signature(auth_token, *other, params), header);
}

} // namespace skyiq::twilio

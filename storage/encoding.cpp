#include "storage/encoding.hpp"

#include <array>
#include <cstdint>

namespace skyiq::storage {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

constexpr char standard_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr char url_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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

// Encodes without padding; the caller appends '=' when it wants it.
std::string encode(std::string_view bytes, const char* alphabet) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    auto chunk = (std::uint32_t(std::uint8_t(bytes[i])) << 16)
                 | (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8)
                 | std::uint32_t(std::uint8_t(bytes[i + 2]));
    for (int shift = 18; shift >= 0; shift -= 6) {
      out += alphabet[(chunk >> shift) & 0x3f];
    }
  }
  auto rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t chunk = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (rest == 2) {
      chunk |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    }
    out += alphabet[(chunk >> 18) & 0x3f];
    out += alphabet[(chunk >> 12) & 0x3f];
    if (rest == 2) {
      out += alphabet[(chunk >> 6) & 0x3f];
    }
  }
  return out;
}

// Decodes unpadded text. Rejects a dangling character and non-zero unused
// bits, so every byte string has exactly one accepted encoding.
std::optional<std::string> decode(std::string_view text,
                                  const char* alphabet) {
  std::array<int, 256> values;
  values.fill(-1);
  for (int i = 0; i < 64; ++i) {
    values[std::uint8_t(alphabet[i])] = i;
  }
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = values[std::uint8_t(c)];
    if (value < 0) {
      return std::nullopt;
    }
    buffer = (buffer << 6) | std::uint32_t(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((buffer >> bits) & 0xff);
    }
  }
  if ((buffer & ((1u << bits) - 1)) != 0) {
    return std::nullopt;
  }
  return out;
}

} // namespace

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    out += hex_digits[std::uint8_t(c) >> 4];
    out += hex_digits[std::uint8_t(c) & 0x0f];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int high = hex_value(text[i]);
    int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    out += char(high * 16 + low);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  auto out = encode(bytes, standard_alphabet);
  while (out.size() % 4 != 0) {
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  auto end = text.find_last_not_of('=');
  auto body = text.substr(0, end == std::string_view::npos ? 0 : end + 1);
  if (text.size() - body.size() > 2) {
    return std::nullopt;
  }
  return decode(body, standard_alphabet);
}

std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, url_alphabet);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  return decode(text, url_alphabet);
}

} // namespace skyiq::storage

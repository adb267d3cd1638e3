#pragma once

// Cryptography of the store: the master key, sealing of Twilio auth tokens
// with AES-256-GCM, random ids and tokens, SHA-256 and Argon2id password
// hashes. Every function is thread-safe.

#include <caf/expected.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace skyiq::storage {

/// The 256-bit key that seals Twilio auth tokens at rest. Immutable after
/// loading; the key bytes are wiped when the last reference goes.
class master_key {
public:
  static constexpr std::size_t size = 32;

  /// Loads the key from `path`, or creates the file (mode 0600, parent
  /// directories 0700) with a fresh random key when it does not exist. The
  /// file contains 64 hex characters on one line. Errors
  /// (errc::invalid_request): malformed content, a file readable or
  /// writable by group or others, or a path that cannot be read or created.
  static caf::expected<std::shared_ptr<const master_key>>
  load_or_create(const std::string& path);

  /// Makes a key from 64 hex characters; for tools and tests.
  static caf::expected<std::shared_ptr<const master_key>>
  from_hex(const std::string& hex);

  master_key(const master_key&) = delete;
  master_key& operator=(const master_key&) = delete;
  ~master_key();

  const std::array<unsigned char, size>& bytes() const {
    return bytes_;
  }

private:
  master_key() = default;

  std::array<unsigned char, size> bytes_{};
};

/// Seals `plaintext` with AES-256-GCM under `key`, binding it to
/// `associated_data` (the account id). Each call draws a fresh 96-bit nonce
/// from OpenSSL's CSPRNG. Returns base64 of version byte 1 | nonce (12) |
/// ciphertext | tag (16). Errors: errc::internal when OpenSSL fails.
caf::expected<std::string> encrypt_secret(const master_key& key,
                                          const std::string& plaintext,
                                          const std::string& associated_data);

/// Opens a value made by `encrypt_secret`. Errors (errc::internal): a
/// malformed value, an unknown version, or a failed authentication, which
/// means another key, other associated data or a modified value.
caf::expected<std::string> decrypt_secret(const master_key& key,
                                          const std::string& sealed,
                                          const std::string& associated_data);

/// Returns 16 random bytes as 22 base64url characters: account and call
/// ids. Aborts the process if OpenSSL's CSPRNG fails, because continuing
/// would hand out guessable ids.
std::string random_id();

/// Returns 32 random bytes as 43 base64url characters: session tokens.
/// Aborts like `random_id`.
std::string random_token();

/// Returns the SHA-256 digest of `data` as 64 lower-case hex characters.
std::string sha256_hex(const std::string& data);

/// Argon2id cost parameters. The defaults are OWASP's minimum
/// recommendation (19 MiB, 2 passes, 1 lane).
struct argon2_params {
  std::uint32_t memory_kib = 19456;
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

/// Hashes `password` with Argon2id and a fresh 16-byte salt into the
/// standard encoded form (`$argon2id$v=19$m=...`). Errors: errc::internal
/// when libargon2 rejects the parameters.
caf::expected<std::string> hash_password(const std::string& password,
                                         const argon2_params& params);

/// Returns true when `password` matches the Argon2id `encoded` hash; false
/// on a mismatch or a malformed hash.
bool verify_password(const std::string& encoded, const std::string& password);

} // namespace skyiq::storage

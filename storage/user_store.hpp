#pragma once

#include "storage/crypto.hpp"
#include "storage/session_cache.hpp"
#include "storage/types.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace skyiq::storage {

class database;

/// A signed-in user: the account id (the API's userId) and the session
/// token to send as `Authorization: Bearer <token>`.
/// How long `authenticate` reuses a session it found in the database.
constexpr std::chrono::milliseconds session_cache_ttl{2000};

struct session_info {
  std::string account_id;
  std::string token;
};

/// Accounts and sessions. Passwords are stored as Argon2id hashes and
/// session tokens only as their SHA-256. Thread-safe.
class user_store {
public:
  /// `params` set the Argon2id cost of new hashes; a session lives for
  /// `session_ttl` after signup or login.
  user_store(std::shared_ptr<database> db, argon2_params params,
             std::chrono::seconds session_ttl);

  /// Creates an account and a first session. The email is trimmed and
  /// lower-cased. Errors: errc::invalid_request naming the field (email
  /// shape, password of 8 to 1024 characters), errc::email_taken.
  caf::expected<session_info> signup(const std::string& email,
                                     const std::string& password);

  /// Opens a session. Errors: errc::invalid_request as for signup, and
  /// errc::invalid_credentials, with one message and comparable timing for
  /// an unknown email and a wrong password.
  caf::expected<session_info> login(const std::string& email,
                                    const std::string& password);

  /// Returns the account id of a live session. A session found in the
  /// database is cached for `session_cache_ttl`, so a session that another
  /// process deleted can still authenticate here for up to that long.
  /// Errors: errc::unauthorized for an unknown, expired or logged-out
  /// token.
  caf::expected<std::string> authenticate(const std::string& token);

  /// Ends the session of `token`, in this process's session cache at once.
  /// Errors: errc::unauthorized when no live session has it.
  caf::expected<void> logout(const std::string& token);

private:
  caf::expected<std::string> create_session(const std::string& account_id);
  timestamp_ms session_expiry() const;

  std::shared_ptr<database> db_;
  argon2_params params_;
  std::chrono::seconds session_ttl_;
  /// Hash checked when the email is unknown, so that such a login costs
  /// as much as a wrong password.
  std::string dummy_hash_;
  session_cache sessions_;
};

} // namespace skyiq::storage

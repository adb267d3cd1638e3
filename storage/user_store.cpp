#include "storage/user_store.hpp"

#include "storage/database.hpp"
#include "storage/errors.hpp"
#include "storage/sql.hpp"
#include "storage/types.hpp"

#include <Poco/Logger.h>

#include <algorithm>
#include <cctype>

namespace skyiq::storage {

namespace {

constexpr std::size_t min_password_length = 8;
constexpr std::size_t max_password_length = 1024;
constexpr std::size_t max_email_length = 254;
constexpr std::size_t token_length = 43;
// Bounds the session cache at a few MiB.
constexpr std::size_t max_cached_sessions = 20000;

std::string normalize_email(const std::string& email) {
  auto first = email.find_first_not_of(" \t\r\n");
  auto last = email.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return {};
  }
  auto out = email.substr(first, last - first + 1);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

// Accepts local@domain.tld without spaces or control characters; the
// mailbox itself is not verified.
bool is_email_shape(const std::string& email) {
  auto at = email.find('@');
  if (email.size() > max_email_length || at == 0 || at == std::string::npos
      || email.find('@', at + 1) != std::string::npos) {
    return false;
  }
  auto dot = email.rfind('.');
  if (dot == std::string::npos || dot < at + 2 || dot + 1 == email.size()) {
    return false;
  }
  return std::none_of(email.begin(), email.end(), [](unsigned char c) {
    return c <= ' ' || c == 0x7f;
  });
}

// Counts UTF-8 code points: every byte that does not continue a sequence.
std::size_t character_count(const std::string& text) {
  return static_cast<std::size_t>(
    std::count_if(text.begin(), text.end(), [](unsigned char c) {
      return (c & 0xc0) != 0x80;
    }));
}

caf::error validate(const std::string& email, const std::string& password) {
  if (!is_email_shape(email)) {
    return make_error(errc::invalid_request,
                      "email must look like name@example.com");
  }
  auto length = character_count(password);
  if (length < min_password_length || length > max_password_length) {
    return make_error(errc::invalid_request,
                      "password must be 8 to 1024 characters long");
  }
  return caf::none;
}

caf::error bad_credentials() {
  return make_error(errc::invalid_credentials,
                    "email or password is wrong");
}

caf::error no_session() {
  return make_error(errc::unauthorized,
                    "session token is unknown, expired or logged out; log "
                    "in again");
}

bool is_token_shape(const std::string& token) {
  return token.size() == token_length
         && std::all_of(token.begin(), token.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '-' || c == '_';
            });
}

// Stores the hash of `token` and drops the account's expired sessions.
// NOTE: expired sessions of an account that never logs in again stay in the
// table; a periodic purge would be needed if that grows large.
void insert_session(sql_connection& connection, const std::string& account_id,
                    const std::string& token, timestamp_ms expires_at) {
  auto now = now_ms();
  connection.execute("DELETE FROM sessions WHERE account_id = ? "
                     "AND expires_at <= ?",
                     {account_id, now});
  connection.execute("INSERT INTO sessions (token_hash, account_id, "
                     "created_at, expires_at) VALUES (?, ?, ?, ?)",
                     {sha256_hex(token), account_id, now, expires_at});
}

} // namespace

user_store::user_store(std::shared_ptr<database> db, argon2_params params,
                       std::chrono::seconds session_ttl)
  : db_(std::move(db)), params_(params), session_ttl_(session_ttl),
    sessions_(session_cache_ttl, max_cached_sessions) {
  auto dummy = hash_password(random_token(), params_);
  if (dummy) {
    dummy_hash_ = std::move(*dummy);
  } else {
    Poco::Logger::get("gateway.storage")
      .error("storage-dummy-hash-failed error=\""
             + message_of(dummy.error()) + "\"");
  }
}

timestamp_ms user_store::session_expiry() const {
  return now_ms() + std::chrono::milliseconds(session_ttl_).count();
}

caf::expected<std::string>
user_store::create_session(const std::string& account_id) {
  auto token = random_token();
  auto stored = with_transaction(
    db_->pool(), "create session",
    [&](sql_connection& connection) -> caf::expected<void> {
      insert_session(connection, account_id, token, session_expiry());
      return caf::unit;
    });
  if (!stored) {
    return stored.error();
  }
  return token;
}

caf::expected<session_info> user_store::signup(const std::string& email,
                                               const std::string& password) {
  auto normalized = normalize_email(email);
  if (auto err = validate(normalized, password)) {
    return err;
  }
  auto hash = hash_password(password, params_);
  if (!hash) {
    return hash.error();
  }
  auto account_id = random_id();
  auto token = random_token();
  auto created = with_transaction(
    db_->pool(), "sign up",
    [&](sql_connection& connection) -> caf::expected<void> {
      if (connection.execute("INSERT INTO accounts (id, email, "
                             "password_hash, created_at) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT (email) DO NOTHING",
                             {account_id, normalized, *hash, now_ms()})
          == 0) {
        return make_error(errc::email_taken,
                          "an account with this email already exists; log "
                          "in instead");
      }
      insert_session(connection, account_id, token, session_expiry());
      return caf::unit;
    });
  if (!created) {
    return created.error();
  }
  return session_info{std::move(account_id), std::move(token)};
}

caf::expected<session_info> user_store::login(const std::string& email,
                                              const std::string& password) {
  auto normalized = normalize_email(email);
  if (auto err = validate(normalized, password)) {
    return err;
  }
  using row_type = caf::expected<std::optional<sql_row>>;
  auto row = with_connection(db_->pool(), "log in",
                             [&](sql_connection& connection) -> row_type {
                               return connection.query_one(
                                 "SELECT id, password_hash FROM accounts "
                                 "WHERE email = ?",
                                 {normalized});
                             });
  if (!row) {
    return row.error();
  }
  if (!*row) {
    verify_password(dummy_hash_, password);
    return bad_credentials();
  }
  if (!verify_password((*row)->text(1), password)) {
    return bad_credentials();
  }
  auto account_id = (*row)->text(0);
  auto token = create_session(account_id);
  if (!token) {
    return token.error();
  }
  return session_info{std::move(account_id), std::move(*token)};
}

caf::expected<std::string>
user_store::authenticate(const std::string& token) {
  if (!is_token_shape(token)) {
    return no_session();
  }
  auto token_hash = sha256_hex(token);
  if (auto cached = sessions_.find(token_hash, now_ms())) {
    return std::move(*cached);
  }
  auto generation = sessions_.begin_lookup();
  return with_connection(
    db_->pool(), "authenticate",
    [&](sql_connection& connection) -> caf::expected<std::string> {
      auto row = connection.query_one("SELECT account_id, expires_at "
                                      "FROM sessions WHERE token_hash = ?",
                                      {token_hash});
      auto now = now_ms();
      if (!row || row->integer(1) <= now) {
        return no_session();
      }
      auto account_id = row->text(0);
      sessions_.store(token_hash, account_id, row->integer(1), generation,
                      now);
      return account_id;
    });
}

caf::expected<void> user_store::logout(const std::string& token) {
  if (!is_token_shape(token)) {
    return no_session();
  }
  auto token_hash = sha256_hex(token);
  auto deleted = with_transaction(
    db_->pool(), "log out",
    [&](sql_connection& connection) -> caf::expected<void> {
      if (connection.execute("DELETE FROM sessions WHERE token_hash = ? "
                             "AND expires_at > ?",
                             {token_hash, now_ms()})
          == 0) {
        return no_session();
      }
      return caf::unit;
    });
  // Also after a failed delete: the request must not authenticate here
  // again, whatever the database did.
  sessions_.erase(token_hash);
  return deleted;
}

} // namespace skyiq::storage

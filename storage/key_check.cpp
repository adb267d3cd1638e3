#include "storage/key_check.hpp"

#include "storage/crypto.hpp"
#include "storage/encoding.hpp"
#include "storage/errors.hpp"
#include "storage/sql.hpp"
#include "storage/types.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <optional>
#include <string_view>

namespace skyiq::storage {

namespace {

constexpr std::string_view fingerprint_label = "skyiq master key check v1";

caf::error key_mismatch(const std::string& key_file) {
  return make_error(
    errc::invalid_request,
    "security.master_key_file '" + key_file
      + "' contains a different key from the one this database was set up "
        "with, so the Twilio credentials stored there cannot be opened; start "
        "this gateway with the key file the database was first used with "
        "(every node of a cluster needs the same one)");
}

// Before migration 4 no fingerprint was stored. If tokens were sealed then,
// the key must open one of them, or the database belongs to another key.
std::optional<bool> opens_a_sealed_token(sql_connection& connection,
                                         const master_key& key) {
  auto row = connection.query_one(
    "SELECT account_id, token_sealed FROM twilio_credentials LIMIT 1");
  if (!row) {
    return std::nullopt;
  }
  return static_cast<bool>(decrypt_secret(key, row->text(1), row->text(0)));
}

} // namespace

std::string key_fingerprint(const master_key& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const auto& bytes = key.bytes();
  if (HMAC(EVP_sha256(), bytes.data(), static_cast<int>(bytes.size()),
           reinterpret_cast<const unsigned char*>(fingerprint_label.data()),
           fingerprint_label.size(), digest, &size)
      == nullptr) {
    // HMAC-SHA256 with a 32-byte key fails only when OpenSSL itself is
    // broken. check_master_key rejects an empty fingerprint.
    return {};
  }
  return hex_encode(
    std::string_view(reinterpret_cast<const char*>(digest), size));
}

caf::error check_master_key(database& db, const master_key& key,
                            const std::string& key_file) {
  const auto fingerprint = key_fingerprint(key);
  if (fingerprint.empty()) {
    return make_error(errc::internal,
                      "OpenSSL failed to compute HMAC-SHA256 for the master "
                      "key check");
  }
  auto result = with_transaction(
    db.pool(), "check the master key",
    [&](sql_connection& connection) -> caf::expected<bool> {
      auto stored = connection.query_one(
        "SELECT fingerprint FROM master_key_check WHERE id = 1");
      if (stored) {
        const auto known = stored->text(0);
        return known.size() == fingerprint.size()
               && CRYPTO_memcmp(known.data(), fingerprint.data(),
                                fingerprint.size())
                    == 0;
      }
      if (auto opens = opens_a_sealed_token(connection, key);
          opens && !*opens) {
        return false;
      }
      // Two gateways may start on a new database at once. The first insert
      // wins, and the other gateway compares its key against it.
      connection.execute("INSERT INTO master_key_check (id, fingerprint, "
                         "created_at) VALUES (1, ?, ?) "
                         "ON CONFLICT (id) DO NOTHING",
                         {fingerprint, now_ms()});
      auto row = connection.query_one(
        "SELECT fingerprint FROM master_key_check WHERE id = 1");
      return row && row->text(0) == fingerprint;
    });
  if (!result) {
    return std::move(result.error());
  }
  if (!*result) {
    return key_mismatch(key_file);
  }
  return caf::none;
}

} // namespace skyiq::storage

#include "actors/forwarding.hpp"

#include "storage/crypto.hpp"
#include "storage/errors.hpp"

namespace skyiq::actors {

namespace {

// An empty token stays empty because it selects the stored credentials.
// A seal that fails (OpenSSL out of memory) travels as empty as well and
// fails on the owning node, so no token is ever sent in plain text.
std::string seal(const std::string& token, const std::string& account_id,
                 const forwarding& link) {
  if (token.empty()) {
    return {};
  }
  auto sealed = storage::encrypt_secret(*link.key, token, account_id);
  return sealed ? std::move(*sealed) : std::string{};
}

caf::expected<std::string> open(const std::string& sealed,
                                const std::string& account_id,
                                const storage::master_key& key) {
  if (sealed.empty()) {
    return std::string{};
  }
  auto token = storage::decrypt_secret(key, sealed, account_id);
  if (!token) {
    return make_error(errc::internal,
                      "a forwarded Twilio auth token for account " +
                          account_id +
                          " did not open: every gateway node must use the "
                          "same security.master_key_file");
  }
  return token;
}

} // namespace

forwarded_setup to_wire(const setup_request& x, const std::string& account_id,
                        const forwarding& link) {
  return {x.account_sid, seal(x.auth_token, account_id, link), x.e164,
          x.request_id};
}

forwarded_numbers to_wire(const numbers_request& x,
                          const std::string& account_id,
                          const forwarding& link) {
  return {x.account_sid, seal(x.auth_token, account_id, link), x.request_id};
}

caf::expected<setup_request> from_wire(const forwarded_setup& x,
                                       const std::string& account_id,
                                       const storage::master_key& key) {
  auto token = open(x.sealed_token, account_id, key);
  if (!token) {
    return std::move(token.error());
  }
  if (token->empty()) {
    return make_error(errc::invalid_request,
                      "authToken is missing: send the Twilio auth token");
  }
  return setup_request{x.account_sid, std::move(*token), x.e164,
                       x.request_id};
}

caf::expected<numbers_request> from_wire(const forwarded_numbers& x,
                                         const std::string& account_id,
                                         const storage::master_key& key) {
  auto token = open(x.sealed_token, account_id, key);
  if (!token) {
    return std::move(token.error());
  }
  return numbers_request{x.account_sid, std::move(*token), x.request_id};
}

} // namespace skyiq::actors

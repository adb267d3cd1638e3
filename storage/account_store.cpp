// account_store: Twilio credentials, claimed numbers and the business
// profile. The call methods are in account_calls.cpp.

#include "storage/account_store.hpp"

#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/errors.hpp"
#include "storage/sql.hpp"

namespace skyiq::storage {

namespace {

caf::error validate_setup(const twilio_credentials& credentials,
                          const claimed_number& number) {
  if (credentials.account_sid.empty()) {
    return make_error(errc::invalid_request, "accountSid must not be empty");
  }
  if (credentials.auth_token.empty()) {
    return make_error(errc::invalid_request, "authToken must not be empty");
  }
  if (number.e164.empty()) {
    return make_error(errc::invalid_request,
                      "phoneNumber must not be empty");
  }
  return caf::none;
}

// Locks this account's row for the transaction on PostgreSQL, so that two
// concurrent setups of one account cannot both pass the Account SID check.
caf::error lock_account(sql_connection& connection,
                        const std::string& account_id) {
  auto sql = std::string("SELECT id FROM accounts WHERE id = ?")
             + lock_rows_suffix(connection.backend());
  if (!connection.query_one(sql, {account_id})) {
    return make_error(errc::not_found,
                      "account " + account_id + " does not exist");
  }
  return caf::none;
}

caf::error check_account_sid(sql_connection& connection,
                             const std::string& account_id,
                             const std::string& account_sid) {
  auto row = connection.query_one(
    "SELECT account_sid FROM twilio_credentials WHERE account_id = ?",
    {account_id});
  if (row && row->text(0) != account_sid) {
    return make_error(errc::twilio_account_conflict,
                      "this account is connected to Twilio account "
                        + row->text(0) + ", not " + account_sid
                        + "; use numbers of the connected Twilio account");
  }
  return caf::none;
}

// Claims the number; the primary key on e164 decides between concurrent
// claims. Returns true when newly claimed.
caf::expected<bool> claim_number(sql_connection& connection,
                                 const std::string& account_id,
                                 const claimed_number& number) {
  auto claimed_at = number.claimed_at != 0 ? number.claimed_at : now_ms();
  if (connection.execute("INSERT INTO numbers (e164, account_id, "
                         "phone_number_sid, claimed_at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (e164) DO NOTHING",
                         {number.e164, account_id, number.phone_number_sid,
                          claimed_at})
      > 0) {
    return true;
  }
  auto owner = connection.query_one(
    "SELECT account_id FROM numbers WHERE e164 = ?", {number.e164});
  if (!owner || owner->text(0) != account_id) {
    return make_error(errc::number_in_use,
                      number.e164
                        + " is already connected to another Sky IQ account");
  }
  connection.execute("UPDATE numbers SET phone_number_sid = ? "
                     "WHERE e164 = ? AND account_id = ?",
                     {number.phone_number_sid, number.e164, account_id});
  return false;
}

void store_credentials(sql_connection& connection,
                       const std::string& account_id,
                       const std::string& account_sid,
                       const std::string& sealed_token) {
  connection.execute(
    "INSERT INTO twilio_credentials (account_id, account_sid, token_sealed, "
    "updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET "
    "account_sid = excluded.account_sid, "
    "token_sealed = excluded.token_sealed, "
    "updated_at = excluded.updated_at",
    {account_id, account_sid, sealed_token, now_ms()});
}

} // namespace

account_store::account_store(std::shared_ptr<database> db,
                             std::shared_ptr<const master_key> key,
                             std::string account_id,
                             std::optional<lease_fence> fence)
  : db_(std::move(db)), key_(std::move(key)),
    account_id_(std::move(account_id)), fence_(std::move(fence)) {
}

caf::error account_store::check_lease(sql_connection& connection) const {
  return fence_ ? check_fence(connection, *fence_) : caf::none;
}

caf::expected<std::optional<twilio_credentials>>
account_store::load_credentials() const {
  using result_type = caf::expected<std::optional<twilio_credentials>>;
  return with_connection(
    db_->pool(), "load Twilio credentials",
    [&](sql_connection& connection) -> result_type {
      auto row = connection.query_one("SELECT account_sid, token_sealed "
                                      "FROM twilio_credentials "
                                      "WHERE account_id = ?",
                                      {account_id_});
      if (!row) {
        return std::optional<twilio_credentials>{};
      }
      auto token = decrypt_secret(*key_, row->text(1), account_id_);
      if (!token) {
        return make_error(errc::internal,
                          "stored Twilio auth token of account "
                            + account_id_ + " cannot be decrypted ("
                            + message_of(token.error())
                            + "); check security.master_key_file or run "
                              "setup again");
      }
      return twilio_credentials{row->text(0), std::move(*token)};
    });
}

caf::expected<bool>
account_store::save_setup(const twilio_credentials& credentials,
                          const claimed_number& number) const {
  if (auto err = validate_setup(credentials, number)) {
    return err;
  }
  auto sealed = encrypt_secret(*key_, credentials.auth_token, account_id_);
  if (!sealed) {
    return sealed.error();
  }
  return with_transaction(
    db_->pool(), "save Twilio setup",
    [&](sql_connection& connection) -> caf::expected<bool> {
      if (auto err = check_lease(connection)) {
        return err;
      }
      if (auto err = lock_account(connection, account_id_)) {
        return err;
      }
      if (auto err = check_account_sid(connection, account_id_,
                                       credentials.account_sid)) {
        return err;
      }
      auto claimed = claim_number(connection, account_id_, number);
      if (claimed) {
        store_credentials(connection, account_id_, credentials.account_sid,
                          *sealed);
      }
      return claimed;
    });
}

caf::expected<bool>
account_store::number_claimable(const std::string& e164) const {
  return with_connection(
    db_->pool(), "check number claim",
    [&](sql_connection& connection) -> caf::expected<bool> {
      auto owner = connection.query_one(
        "SELECT account_id FROM numbers WHERE e164 = ?", {e164});
      return !owner || owner->text(0) == account_id_;
    });
}

caf::expected<std::vector<claimed_number>>
account_store::claimed_numbers() const {
  using result_type = caf::expected<std::vector<claimed_number>>;
  return with_connection(
    db_->pool(), "list claimed numbers",
    [&](sql_connection& connection) -> result_type {
      std::vector<claimed_number> numbers;
      for (const auto& row : connection.query(
             "SELECT e164, phone_number_sid, claimed_at FROM numbers "
             "WHERE account_id = ? ORDER BY claimed_at, e164",
             {account_id_})) {
        numbers.push_back({row.text(0), row.text(1), row.integer(2)});
      }
      return numbers;
    });
}

caf::expected<std::optional<std::string>>
account_store::connected_account_sid() const {
  using result_type = caf::expected<std::optional<std::string>>;
  return with_connection(
    db_->pool(), "load Account SID",
    [&](sql_connection& connection) -> result_type {
      auto row = connection.query_one("SELECT account_sid FROM "
                                      "twilio_credentials "
                                      "WHERE account_id = ?",
                                      {account_id_});
      return row ? std::optional<std::string>{row->text(0)} : std::nullopt;
    });
}

caf::expected<business_profile> account_store::load_profile() const {
  return with_connection(
    db_->pool(), "load business profile",
    [&](sql_connection& connection) -> caf::expected<business_profile> {
      auto row = connection.query_one(
        "SELECT business_name, greeting, timezone, hours, forward_to "
        "FROM business_profiles WHERE account_id = ?",
        {account_id_});
      if (!row) {
        return business_profile{};
      }
      return business_profile{row->optional_text(0), row->optional_text(1),
                              row->optional_text(2), row->optional_text(3),
                              row->optional_text(4)};
    });
}

caf::expected<void>
account_store::save_profile(const business_profile& profile) const {
  return with_transaction(
    db_->pool(), "save business profile",
    [&](sql_connection& connection) -> caf::expected<void> {
      if (auto err = check_lease(connection)) {
        return err;
      }
      connection.execute(
        "INSERT INTO business_profiles (account_id, business_name, "
        "greeting, timezone, hours, forward_to, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE "
        "SET business_name = excluded.business_name, "
        "greeting = excluded.greeting, timezone = excluded.timezone, "
        "hours = excluded.hours, forward_to = excluded.forward_to, "
        "updated_at = excluded.updated_at",
        {account_id_, profile.business_name, profile.greeting,
         profile.timezone, profile.hours, profile.forward_to, now_ms()});
      return caf::unit;
    });
}

} // namespace skyiq::storage

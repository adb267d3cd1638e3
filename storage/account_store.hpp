#pragma once

#include "storage/call_writer.hpp"
#include "storage/lease_fence.hpp"
#include "storage/types.hpp"

#include <caf/expected.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace skyiq::storage {

class database;
class master_key;

/// The storage of one account. The account id is bound at construction and
/// no method takes one, so every statement reads and writes only this
/// account's rows. Errors: errc::unavailable when the database fails, plus
/// the codes listed per method. Holds no mutable state; safe to use from
/// several threads.
class account_store {
public:
  /// With a `fence` (a clustered node), every write first checks in its
  /// transaction that the node still holds the account's lease at the
  /// fence's epoch and fails with errc::unavailable when it does not.
  account_store(std::shared_ptr<database> db,
                std::shared_ptr<const master_key> key,
                std::string account_id,
                std::optional<lease_fence> fence = std::nullopt);

  const std::string& account_id() const {
    return account_id_;
  }

  /// Loads and decrypts the Twilio credentials; nullopt before setup.
  /// Errors: errc::internal when the sealed token fails to decrypt.
  caf::expected<std::optional<twilio_credentials>> load_credentials() const;

  /// Claims `number` and stores `credentials` (auth token sealed) in one
  /// transaction. Returns true when the number was newly claimed, false
  /// when this account already held it (its PN sid is updated). Errors:
  /// errc::number_in_use (claimed by another account),
  /// errc::twilio_account_conflict (a different Account SID is already
  /// connected), errc::invalid_request (an empty field), errc::not_found
  /// (the account does not exist).
  caf::expected<bool> save_setup(const twilio_credentials& credentials,
                                 const claimed_number& number) const;

  /// Returns true when `e164` is unclaimed or claimed by this account, so
  /// that a request can be rejected before Twilio is called. Only
  /// `save_setup` claims the number.
  caf::expected<bool> number_claimable(const std::string& e164) const;

  /// Returns the numbers of this account, oldest claim first.
  caf::expected<std::vector<claimed_number>> claimed_numbers() const;

  /// Returns the connected Account SID; nullopt before setup.
  caf::expected<std::optional<std::string>> connected_account_sid() const;

  /// Returns the business profile; every field is absent before a save.
  caf::expected<business_profile> load_profile() const;

  /// Replaces the whole business profile.
  caf::expected<void> save_profile(const business_profile& profile) const;

  /// Returns one page of calls, newest first by created_at, ties by id
  /// (descending). `query.limit` must be 1 to 200. Errors:
  /// errc::invalid_request for a malformed cursor, an unknown status or a
  /// limit out of range.
  caf::expected<call_page> list_calls(const call_query& query) const;

  /// Inserts `call`, filling id (random_id) and created_at when they are
  /// empty or zero. Errors: errc::call_exists when the account already has
  /// its CallSid; errc::invalid_request for an empty CallSid or an unknown
  /// status. Checking that the call is on a number of this account is the
  /// caller's job.
  caf::expected<call_record> create_call(call_record call) const;

  /// Deletes the call `id`. Errors: errc::not_found when this account has
  /// no such call, whether or not another account has one.
  caf::expected<void> delete_call(const std::string& id) const;

  caf::expected<std::optional<call_record>>
  find_call_by_sid(const std::string& call_sid) const;

  /// Returns a group-commit item that inserts a voice webhook's call.
  call_write prepare_webhook_call(call_record call) const;

  /// Returns a group-commit item that applies a status callback.
  call_write prepare_status(status_update update) const;

  /// Returns the lease this store writes under, or null on a single node.
  const lease_fence* fence() const {
    return fence_ ? &*fence_ : nullptr;
  }

private:
  /// Checks the fence, if any, inside a write transaction.
  caf::error check_lease(sql_connection& connection) const;

  std::shared_ptr<database> db_;
  std::shared_ptr<const master_key> key_;
  std::string account_id_;
  std::optional<lease_fence> fence_;
};

} // namespace skyiq::storage

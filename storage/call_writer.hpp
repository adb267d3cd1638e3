#pragma once

#include "storage/lease_fence.hpp"
#include "storage/types.hpp"

#include <caf/expected.hpp>

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace skyiq::storage {

class account_store;
class database;

/// One write for the group commit, bound to the account of the
/// account_store that made it. Only account_store can make one, so a write
/// cannot name another account.
class call_write {
public:
  /// A voice webhook's call, inserted unless the account already has its
  /// CallSid, or a status callback.
  using item_type = std::variant<call_record, status_update>;

  const std::string& account_id() const {
    return account_id_;
  }

  const item_type& item() const {
    return item_;
  }

  /// The lease the write must still hold when it commits; null on a
  /// single node.
  const lease_fence* fence() const {
    return fence_ ? &*fence_ : nullptr;
  }

private:
  friend class account_store;

  call_write(std::string account_id, item_type item,
             std::optional<lease_fence> fence)
    : account_id_(std::move(account_id)), item_(std::move(item)),
      fence_(std::move(fence)) {
  }

  std::string account_id_;
  item_type item_;
  std::optional<lease_fence> fence_;
};

/// Commits batches of call writes, one transaction (one fsync on SQLite)
/// per batch. Meant for one writer thread; concurrent `commit` calls are
/// safe but serialize on SQLite's write lock.
class call_writer {
public:
  explicit call_writer(std::shared_ptr<database> db);

  /// Applies `batch` in order in one transaction and returns one result
  /// per item: the stored record after the write. A webhook insert whose
  /// CallSid exists returns the existing record and changes nothing. A
  /// status update creates the record when the webhook never arrived and
  /// otherwise follows the rules of `apply_status`. An item the database
  /// rejects (its account was deleted, say) fails alone, through a
  /// savepoint, and so does an item whose lease fence no longer holds.
  /// When the transaction itself fails, every item gets
  /// errc::unavailable and nothing is written.
  std::vector<caf::expected<call_record>>
  commit(const std::vector<call_write>& batch);

private:
  std::shared_ptr<database> db_;
};

} // namespace skyiq::storage

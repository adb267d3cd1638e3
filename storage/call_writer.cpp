#include "storage/call_writer.hpp"

#include "storage/call_rows.hpp"
#include "storage/call_status.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/errors.hpp"
#include "storage/sql.hpp"

#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <Poco/Data/SQLite/SQLiteException.h>

#include <set>
#include <utility>

namespace skyiq::storage {

namespace {

using result_type = caf::expected<call_record>;

// Lease fences already checked in the current transaction, by account id
// and epoch. Their lease rows stay locked until the transaction ends.
using checked_fences = std::set<std::pair<std::string, std::int64_t>>;

result_type insert_webhook_call(sql_connection& connection,
                                const std::string& account_id,
                                call_record call, const lease_fence* fence) {
  if (auto err = validate_call(call.call_sid, call.status)) {
    return err;
  }
  if (call.id.empty()) {
    call.id = random_id();
  }
  if (call.created_at == 0) {
    call.created_at = now_ms();
  }
  if (insert_call_if_absent(connection, account_id, call, fence)) {
    return call;
  }
  auto existing = select_call_by_sid(connection, account_id, call.call_sid);
  if (!existing) {
    return make_error(errc::internal,
                      "call " + call.call_sid
                        + " was neither inserted nor found");
  }
  return std::move(*existing);
}

result_type apply_status_update(sql_connection& connection,
                                const std::string& account_id,
                                const status_update& update,
                                const lease_fence* fence) {
  if (auto err = validate_call(update.call_sid, update.status)) {
    return err;
  }
  auto current = select_call_by_sid(connection, account_id, update.call_sid,
                                    true);
  if (!current) {
    auto call = call_from_status(update);
    call.id = random_id();
    call.created_at = now_ms();
    if (insert_call_if_absent(connection, account_id, call, fence)) {
      return call;
    }
    // Another node inserted it after our select; apply on top of theirs.
    current = select_call_by_sid(connection, account_id, update.call_sid,
                                 true);
    if (!current) {
      return make_error(errc::internal, "call " + update.call_sid
                                          + " was neither inserted nor "
                                            "found");
    }
  }
  auto next = apply_status(*current, update);
  if (!next) {
    return std::move(*current);
  }
  update_call(connection, account_id, *next);
  return std::move(*next);
}

// Checks the write's lease fence once per transaction. `checked` is null
// inside savepoints, whose rollback would also release the row lock.
caf::error check_fence_once(sql_connection& connection,
                            const lease_fence& fence,
                            checked_fences* checked) {
  std::pair<std::string, std::int64_t> key{fence.account_id, fence.epoch};
  if (checked && checked->count(key) > 0) {
    return caf::none;
  }
  if (auto err = check_fence(connection, fence)) {
    return err;
  }
  if (checked) {
    checked->insert(std::move(key));
  }
  return caf::none;
}

result_type apply_item(sql_connection& connection, const call_write& write,
                       checked_fences* checked) {
  const auto* fence = write.fence();
  if (fence) {
    if (auto err = check_fence_once(connection, *fence, checked)) {
      return err;
    }
  }
  if (auto call = std::get_if<call_record>(&write.item())) {
    return insert_webhook_call(connection, write.account_id(), *call, fence);
  }
  return apply_status_update(connection, write.account_id(),
                             std::get<status_update>(write.item()), fence);
}

// True for errors that concern one item's data, after which the
// transaction can continue from the item's savepoint.
bool is_item_error(const Poco::Exception& e) {
  if (dynamic_cast<const Poco::Data::SQLite::ConstraintViolationException*>(
        &e)) {
    return true;
  }
  return dynamic_cast<const Poco::Data::PostgreSQL::StatementException*>(&e)
         && e.displayText().find("violates") != std::string::npos;
}

caf::error rejection_error(const call_write& write,
                           const std::string& reason) {
  return make_error(errc::internal,
                    "the database rejected a call write for account "
                      + write.account_id() + ": " + reason);
}

// Applies one item without a savepoint. An item the database rejects sets
// `rejected`. The transaction is then unusable on PostgreSQL, so the caller
// rolls back and runs the batch again through `apply_isolated`.
result_type apply_direct(sql_connection& connection, const call_write& write,
                         bool& rejected, checked_fences& checked) {
  try {
    return apply_item(connection, write, &checked);
  } catch (const Poco::Exception& e) {
    if (!is_item_error(e) || !connection.connected()) {
      throw;
    }
    rejected = true;
    return rejection_error(write, e.displayText());
  }
}

// Applies one item inside a savepoint, so that a rejected item is rolled
// back alone. Connection-level failures propagate and fail the batch.
result_type apply_isolated(sql_connection& connection,
                           const call_write& write) {
  connection.execute("SAVEPOINT call_write");
  std::string rejection;
  try {
    auto result = apply_item(connection, write, nullptr);
    if (!result) {
      connection.execute("ROLLBACK TO SAVEPOINT call_write");
    }
    connection.execute("RELEASE SAVEPOINT call_write");
    return result;
  } catch (const Poco::Exception& e) {
    if (!is_item_error(e) || !connection.connected()) {
      throw;
    }
    rejection = e.displayText();
  }
  connection.execute("ROLLBACK TO SAVEPOINT call_write");
  connection.execute("RELEASE SAVEPOINT call_write");
  return rejection_error(write, rejection);
}

// Runs the whole batch in one transaction. Savepoints cost two statements
// per item, so the first attempt goes without them; only a batch with a
// rejected item runs again with `isolate`.
caf::expected<void> run_batch(connection_pool& pool,
                              const std::vector<call_write>& batch,
                              bool isolate, bool& rejected,
                              std::vector<result_type>& results) {
  return with_transaction(
    pool, "call batch commit",
    [&](sql_connection& connection) -> caf::expected<void> {
      results.clear();
      checked_fences checked;
      for (const auto& write : batch) {
        if (isolate) {
          results.push_back(apply_isolated(connection, write));
          continue;
        }
        results.push_back(apply_direct(connection, write, rejected, checked));
        if (rejected) {
          return results.back().error();
        }
      }
      return caf::unit;
    });
}

} // namespace

call_writer::call_writer(std::shared_ptr<database> db) : db_(std::move(db)) {
}

std::vector<result_type>
call_writer::commit(const std::vector<call_write>& batch) {
  std::vector<result_type> results;
  if (batch.empty()) {
    return results;
  }
  bool rejected = false;
  auto outcome = run_batch(db_->pool(), batch, false, rejected, results);
  if (!outcome && rejected) {
    outcome = run_batch(db_->pool(), batch, true, rejected, results);
  }
  if (outcome) {
    return results;
  }
  results.clear();
  auto message = "batch of " + std::to_string(batch.size())
                 + " call writes was not committed: "
                 + message_of(outcome.error());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    results.emplace_back(make_error(errc::unavailable, message));
  }
  return results;
}

} // namespace skyiq::storage

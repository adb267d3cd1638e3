// account_store: the account's call records.

#include "storage/account_store.hpp"

#include "storage/call_rows.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/errors.hpp"
#include "storage/sql.hpp"

namespace skyiq::storage {

namespace {

constexpr std::size_t max_page_size = 200;

caf::error validate_query(const call_query& query) {
  if (query.limit < 1 || query.limit > max_page_size) {
    return make_error(errc::invalid_request,
                      "limit must be between 1 and 200, not "
                        + std::to_string(query.limit));
  }
  if (!query.status.empty() && !is_call_status(query.status)) {
    return make_error(errc::invalid_request,
                      "status \"" + query.status
                        + "\" is not a Twilio call status");
  }
  return caf::none;
}

// Builds the keyset query of one page: rows strictly after the cursor in
// (created_at DESC, id DESC) order, one more than the limit so that the
// caller knows whether another page follows.
std::string page_sql(const call_query& query,
                     const std::optional<cursor_position>& after) {
  auto sql = std::string("SELECT ") + call_columns
             + " FROM calls WHERE account_id = ?";
  if (!query.status.empty()) {
    sql += " AND status = ?";
  }
  if (after) {
    sql += " AND (created_at < ? OR (created_at = ? AND id < ?))";
  }
  return sql + " ORDER BY created_at DESC, id DESC LIMIT ?";
}

sql_params page_params(const std::string& account_id,
                       const call_query& query,
                       const std::optional<cursor_position>& after) {
  sql_params params{account_id};
  if (!query.status.empty()) {
    params.emplace_back(query.status);
  }
  if (after) {
    params.emplace_back(after->created_at);
    params.emplace_back(after->created_at);
    params.emplace_back(after->id);
  }
  params.emplace_back(static_cast<std::int64_t>(query.limit + 1));
  return params;
}

} // namespace

caf::expected<call_page>
account_store::list_calls(const call_query& query) const {
  if (auto err = validate_query(query)) {
    return err;
  }
  std::optional<cursor_position> after;
  if (!query.cursor.empty()) {
    after = decode_cursor(query.cursor);
    if (!after) {
      return make_error(errc::invalid_request,
                        "invalid cursor: pass the nextCursor of the "
                        "previous page unchanged, or omit it for the first "
                        "page");
    }
  }
  return with_connection(
    db_->pool(), "list calls",
    [&](sql_connection& connection) -> caf::expected<call_page> {
      call_page page;
      auto rows = connection.query(page_sql(query, after),
                                   page_params(account_id_, query, after));
      page.calls.reserve(rows.size());
      for (auto& row : rows) {
        page.calls.push_back(read_call(std::move(row)));
      }
      if (page.calls.size() > query.limit) {
        page.calls.pop_back();
        page.next_cursor = encode_cursor(page.calls.back());
      }
      return page;
    });
}

caf::expected<call_record> account_store::create_call(call_record call) const {
  if (auto err = validate_call(call.call_sid, call.status)) {
    return err;
  }
  if (call.id.empty()) {
    call.id = random_id();
  }
  if (call.created_at == 0) {
    call.created_at = now_ms();
  }
  return with_transaction(
    db_->pool(), "create call",
    [&](sql_connection& connection) -> caf::expected<call_record> {
      if (auto err = check_lease(connection)) {
        return err;
      }
      if (!insert_call_if_absent(connection, account_id_, call, fence())) {
        return make_error(errc::call_exists,
                          "a call with CallSid " + call.call_sid
                            + " already exists");
      }
      return call;
    });
}

caf::expected<void> account_store::delete_call(const std::string& id) const {
  return with_transaction(
    db_->pool(), "delete call",
    [&](sql_connection& connection) -> caf::expected<void> {
      if (auto err = check_lease(connection)) {
        return err;
      }
      if (connection.execute("DELETE FROM calls WHERE account_id = ? "
                             "AND id = ?",
                             {account_id_, id})
          == 0) {
        return make_error(errc::not_found, "call " + id + " not found");
      }
      return caf::unit;
    });
}

caf::expected<std::optional<call_record>>
account_store::find_call_by_sid(const std::string& call_sid) const {
  using result_type = caf::expected<std::optional<call_record>>;
  return with_connection(db_->pool(), "find call",
                         [&](sql_connection& connection) -> result_type {
                           return select_call_by_sid(connection, account_id_,
                                                     call_sid);
                         });
}

call_write account_store::prepare_webhook_call(call_record call) const {
  return call_write(account_id_, std::move(call), fence_);
}

call_write account_store::prepare_status(status_update update) const {
  return call_write(account_id_, std::move(update), fence_);
}

} // namespace skyiq::storage

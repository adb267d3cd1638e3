#pragma once

// Reading and writing rows of the `calls` table, shared by account_store
// and call_writer. Every function binds the account id it is given; the
// callers pass their own bound id. Functions throw Poco exceptions, so call
// them inside `with_connection`.

#include "storage/lease_fence.hpp"
#include "storage/sql.hpp"
#include "storage/types.hpp"

#include <optional>
#include <string>

namespace skyiq::storage {

/// Columns of `calls` in the order `read_call` reads them.
extern const char* const call_columns;

/// Builds a call from a row of `call_columns`, moving its text out.
call_record read_call(sql_row&& row);

/// Checks what the database cannot: a non-empty CallSid and one of
/// Twilio's call statuses. Errors: errc::invalid_request naming the field.
caf::error validate_call(const std::string& call_sid,
                         const std::string& status);

/// Returns the call of `call_sid`; with `lock`, the row stays locked for
/// the rest of the transaction on PostgreSQL.
std::optional<call_record> select_call_by_sid(sql_connection& connection,
                                              const std::string& account_id,
                                              const std::string& call_sid,
                                              bool lock = false);

/// Inserts `call` unless the account already has its CallSid; returns
/// true when a row was inserted. A `fence` fills the row's lease_node and
/// lease_epoch; checking it is the caller's job (`check_fence`).
bool insert_call_if_absent(sql_connection& connection,
                           const std::string& account_id,
                           const call_record& call,
                           const lease_fence* fence = nullptr);

/// Stores the mutable fields of `call`, found by its id.
void update_call(sql_connection& connection, const std::string& account_id,
                 const call_record& call);

/// Returns the opaque page cursor after `call`.
std::string encode_cursor(const call_record& call);

/// Position decoded from a cursor: the created_at and id of the last call
/// of the previous page.
struct cursor_position {
  timestamp_ms created_at = 0;
  std::string id;
};

/// Decodes a cursor made by `encode_cursor`; nullopt when malformed.
std::optional<cursor_position> decode_cursor(const std::string& cursor);

} // namespace skyiq::storage

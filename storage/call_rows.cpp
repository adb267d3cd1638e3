#include "storage/call_rows.hpp"

#include "storage/encoding.hpp"
#include "storage/errors.hpp"

#include <cctype>

namespace skyiq::storage {

namespace {

// Maximum size of a cursor's id; ids from random_id are 22 characters.
constexpr std::size_t max_cursor_id_size = 64;

bool is_id_character(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

} // namespace

const char* const call_columns
  = "id, call_sid, from_number, to_number, direction, status, created_at, "
    "started_at, ended_at, duration_seconds, last_sequence";

call_record read_call(sql_row&& row) {
  call_record call;
  call.id = row.take_text(0);
  call.call_sid = row.take_text(1);
  call.from = row.take_text(2);
  call.to = row.take_text(3);
  call.direction = row.take_text(4);
  call.status = row.take_text(5);
  call.created_at = row.integer(6);
  call.started_at = row.optional_integer(7);
  call.ended_at = row.optional_integer(8);
  call.duration_seconds = row.optional_integer(9);
  call.last_sequence = row.integer(10);
  return call;
}

caf::error validate_call(const std::string& call_sid,
                         const std::string& status) {
  if (call_sid.empty()) {
    return make_error(errc::invalid_request, "callSid must not be empty");
  }
  if (!is_call_status(status)) {
    return make_error(errc::invalid_request,
                      "status \"" + status
                        + "\" is not a Twilio call status; expected queued, "
                          "ringing, in-progress, completed, busy, failed, "
                          "no-answer or canceled");
  }
  return caf::none;
}

std::optional<call_record> select_call_by_sid(sql_connection& connection,
                                              const std::string& account_id,
                                              const std::string& call_sid,
                                              bool lock) {
  auto sql = std::string("SELECT ") + call_columns
             + " FROM calls WHERE account_id = ? AND call_sid = ?"
             + (lock ? lock_rows_suffix(connection.backend()) : "");
  auto row = connection.query_one(sql, {account_id, call_sid});
  if (!row) {
    return std::nullopt;
  }
  return read_call(std::move(*row));
}

bool insert_call_if_absent(sql_connection& connection,
                           const std::string& account_id,
                           const call_record& call, const lease_fence* fence) {
  std::optional<std::string> lease_node;
  std::optional<std::int64_t> lease_epoch;
  if (fence) {
    lease_node = fence->node;
    lease_epoch = fence->epoch;
  }
  auto changed = connection.execute(
    "INSERT INTO calls (id, account_id, call_sid, from_number, to_number, "
    "direction, status, created_at, started_at, ended_at, "
    "duration_seconds, last_sequence, lease_node, lease_epoch) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account_id, call_sid) DO NOTHING",
    {call.id, account_id, call.call_sid, call.from, call.to, call.direction,
     call.status, call.created_at, call.started_at, call.ended_at,
     call.duration_seconds, call.last_sequence, lease_node, lease_epoch});
  return changed > 0;
}

void update_call(sql_connection& connection, const std::string& account_id,
                 const call_record& call) {
  connection.execute(
    "UPDATE calls SET from_number = ?, to_number = ?, direction = ?, "
    "status = ?, started_at = ?, ended_at = ?, duration_seconds = ?, "
    "last_sequence = ? WHERE account_id = ? AND id = ?",
    {call.from, call.to, call.direction, call.status, call.started_at,
     call.ended_at, call.duration_seconds, call.last_sequence, account_id,
     call.id});
}

std::string encode_cursor(const call_record& call) {
  return base64url_encode(std::to_string(call.created_at) + ":" + call.id);
}

std::optional<cursor_position> decode_cursor(const std::string& cursor) {
  auto text = base64url_decode(cursor);
  if (!text) {
    return std::nullopt;
  }
  auto colon = text->find(':');
  if (colon == 0 || colon == std::string::npos || colon > 18) {
    return std::nullopt;
  }
  cursor_position position;
  for (std::size_t i = 0; i < colon; ++i) {
    if (!std::isdigit(static_cast<unsigned char>((*text)[i]))) {
      return std::nullopt;
    }
    position.created_at = position.created_at * 10 + ((*text)[i] - '0');
  }
  position.id = text->substr(colon + 1);
  if (position.id.empty() || position.id.size() > max_cursor_id_size) {
    return std::nullopt;
  }
  for (char c : position.id) {
    if (!is_id_character(c)) {
      return std::nullopt;
    }
  }
  return position;
}

} // namespace skyiq::storage

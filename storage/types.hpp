#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace skyiq::storage {

/// Milliseconds since the Unix epoch, UTC. Stored as a 64-bit integer on
/// both backends so that no fraction of a second is lost.
using timestamp_ms = std::int64_t;

/// One call as the dashboard and the webhooks see it.
struct call_record {
  /// Random public id (22 URL-safe characters), never sequential.
  std::string id;
  std::string call_sid;
  std::string from;
  std::string to;
  /// Twilio's direction: inbound, outbound-api, outbound-dial.
  std::string direction;
  /// Twilio's CallStatus: queued, ringing, in-progress, completed, busy,
  /// failed, no-answer, canceled.
  std::string status;
  timestamp_ms created_at = 0;
  std::optional<timestamp_ms> started_at;
  std::optional<timestamp_ms> ended_at;
  std::optional<std::int64_t> duration_seconds;
  /// Highest SequenceNumber applied so far; -1 when none was seen.
  std::int64_t last_sequence = -1;
};

/// One status callback, applied to the record of `call_sid`.
struct status_update {
  std::string call_sid;
  std::string status;
  std::string from;
  std::string to;
  std::string direction;
  std::optional<std::int64_t> sequence_number;
  std::optional<std::int64_t> duration_seconds;
  /// Event time from Twilio's `Timestamp`, or the arrival time.
  timestamp_ms event_time = 0;
};

/// Query of one page of an account's calls.
struct call_query {
  std::size_t limit = 50;
  /// Opaque cursor from a previous page; empty for the first page.
  std::string cursor;
  /// Twilio status to filter on; empty for all.
  std::string status;
};

struct call_page {
  std::vector<call_record> calls;
  /// Cursor of the next page; empty when this is the last one.
  std::string next_cursor;
};

/// Business profile; every field is absent until set.
struct business_profile {
  std::optional<std::string> business_name;
  std::optional<std::string> greeting;
  std::optional<std::string> timezone;
  std::optional<std::string> hours;
  std::optional<std::string> forward_to;
};

/// An account's Twilio credentials after decryption.
struct twilio_credentials {
  std::string account_sid;
  std::string auth_token;
};

/// A number claimed by an account.
struct claimed_number {
  std::string e164;
  std::string phone_number_sid;
  timestamp_ms claimed_at = 0;
};

/// What the number directory knows about an account that owns a number.
struct number_owner {
  std::string account_id;
};

/// Returns true for completed, busy, failed, no-answer and canceled.
bool is_final_status(const std::string& status);

/// Returns true for one of Twilio's eight call statuses.
bool is_call_status(const std::string& status);

/// Returns the current system time in milliseconds since the Unix epoch.
timestamp_ms now_ms();

} // namespace skyiq::storage

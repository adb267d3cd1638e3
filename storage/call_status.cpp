#include "storage/call_status.hpp"

namespace skyiq::storage {

namespace {

// Position in a call's life; -1 for a record without a status yet.
int status_rank(const std::string& status) {
  if (status.empty()) {
    return -1;
  }
  if (is_final_status(status)) {
    return 3;
  }
  if (status == "in-progress") {
    return 2;
  }
  return status == "ringing" ? 1 : 0;
}

bool is_stale(const call_record& current, const status_update& update) {
  bool current_final = is_final_status(current.status);
  if (update.sequence_number) {
    if (current.last_sequence >= 0
        && *update.sequence_number <= current.last_sequence) {
      return true;
    }
    return current_final && !is_final_status(update.status);
  }
  if (current_final) {
    return true;
  }
  return !is_final_status(update.status)
         && status_rank(update.status) <= status_rank(current.status);
}

void fill_if_empty(std::string& field, const std::string& value) {
  if (field.empty()) {
    field = value;
  }
}

} // namespace

std::optional<call_record> apply_status(const call_record& current,
                                        const status_update& update) {
  if (is_stale(current, update)) {
    return std::nullopt;
  }
  auto next = current;
  auto event_time = update.event_time != 0 ? update.event_time : now_ms();
  next.status = update.status;
  if (update.sequence_number) {
    next.last_sequence = *update.sequence_number;
  }
  if (update.status == "in-progress" && !next.started_at) {
    next.started_at = event_time;
  }
  if (is_final_status(update.status)) {
    next.ended_at = event_time;
    if (update.duration_seconds) {
      next.duration_seconds = update.duration_seconds;
    }
  }
  fill_if_empty(next.from, update.from);
  fill_if_empty(next.to, update.to);
  fill_if_empty(next.direction, update.direction);
  return next;
}

call_record call_from_status(const status_update& update) {
  call_record empty;
  empty.call_sid = update.call_sid;
  // An empty status ranks below every real one, so the update applies.
  return *apply_status(empty, update);
}

} // namespace skyiq::storage

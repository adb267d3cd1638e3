#pragma once

// Rules for applying Twilio status callbacks to a stored call. Pure
// functions; the call writer runs them inside its transaction.

#include "storage/types.hpp"

#include <optional>

namespace skyiq::storage {

/// Returns `current` with `update` applied, or nullopt when the update is
/// stale and must be ignored. Rules:
/// - With a SequenceNumber, an update at or below the last applied one is
///   stale.
/// - A final status (completed, busy, failed, no-answer, canceled) is never
///   replaced by a non-final one, nor by an update without a
///   SequenceNumber.
/// - Without a SequenceNumber, a non-final status applies only when it is
///   later in the call's life (queued < ringing < in-progress) than the
///   stored one; a final status always applies to a non-final call.
/// Applying sets started_at at in-progress, ended_at and duration_seconds
/// (CallDuration) at a final status, and fills an empty From, To or
/// Direction.
std::optional<call_record> apply_status(const call_record& current,
                                        const status_update& update);

/// Returns the record that a status callback creates when its call was
/// never stored (the voice webhook has not arrived). Its id and
/// created_at are left for the caller.
call_record call_from_status(const status_update& update);

} // namespace skyiq::storage

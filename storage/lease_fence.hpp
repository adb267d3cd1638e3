#pragma once

// The lease condition for statements of this library that must not apply
// once a node has lost an account: append `AND <lease_fence_sql()>` to the
// WHERE clause and its values to the parameters.

#include "storage/sql.hpp"
#include "storage/types.hpp"

#include <cstdint>
#include <string>

namespace skyiq::storage {

/// The lease under which a write is made.
struct lease_fence {
  std::string account_id;
  std::string node;
  std::int64_t epoch = 0;
};

/// Returns a condition, with four `?` placeholders, that is true while
/// the fence's node holds a live lease on its account at its epoch.
const char* lease_fence_sql();

/// Checks inside a write transaction that `fence` still holds: its node
/// holds a live lease on its account at its epoch. On PostgreSQL the lease
/// row stays locked (FOR KEY SHARE) until the transaction ends. That lock
/// blocks a takeover, which locks the row FOR UPDATE first (see
/// `lease_table::acquire`), but not the owner's own renewals, which only
/// update expires_at. Renewals and writes take locks that do not conflict,
/// so they cannot deadlock (tests/storage/leases_test.cpp checks it).
/// Errors: errc::unavailable naming the account when the lease moved or
/// expired, and the caller then writes nothing.
caf::error check_fence(sql_connection& connection, const lease_fence& fence);

/// Appends the values of `lease_fence_sql()`'s placeholders to `params`,
/// with `now` as the time the lease must outlive.
void append_fence_params(sql_params& params, const lease_fence& fence,
                         timestamp_ms now);

} // namespace skyiq::storage

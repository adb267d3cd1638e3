#pragma once

#include "storage/sql.hpp"

namespace skyiq::storage {

/// Returns the schema version this build creates and understands.
int latest_schema_version();

/// Applies the pending schema migrations in one transaction, serialized
/// against other gateway processes, and returns the resulting version.
/// Errors: errc::unavailable when the database cannot be reached or its
/// schema is newer than this build supports.
caf::expected<int> migrate(connection_pool& pool);

} // namespace skyiq::storage

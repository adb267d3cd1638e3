#pragma once

#include "storage/types.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace skyiq::storage {

class connection_pool;
class file_lock;

/// Connection settings of the store.
struct database_options {
  /// `sqlite:PATH`, `postgresql://user:pass@host:port/db` or a libpq
  /// key=value string.
  std::string url;
  std::size_t pool_size = 4;
  /// How long a statement waits for a lock held by another connection
  /// (SQLite's busy timeout, PostgreSQL's lock_timeout) before the
  /// operation fails with errc::unavailable.
  std::chrono::milliseconds busy_timeout{5000};
  /// How long an operation waits for a free pooled connection.
  std::chrono::milliseconds acquire_timeout{5000};
  /// How long a PostgreSQL statement waits for the server's reply. Past
  /// it, the connection is shut down and the operation fails with
  /// errc::unavailable. Zero waits without end, as migrations at open do.
  std::chrono::milliseconds statement_timeout{5000};
  /// Called once for every operation that fails on the database: server
  /// unreachable, lock or pool wait timed out, statement failed. It runs
  /// on the thread of the operation and may be empty. Errors an operation
  /// returns by design, such as errc::number_in_use, are not counted.
  std::function<void()> on_failure;
};

/// Switches SQLite to its multi-thread mode, in which a connection takes no
/// mutex on each API call, such as the three `sqlite3_column_*` calls per
/// column read. That is safe here because the pool lends each connection,
/// and the statements prepared on it, to one thread at a time. Must run before any
/// SQLite connection of the process is open, because it shuts SQLite down
/// and initializes it again. Returns false when SQLite refused.
bool use_multithreaded_sqlite();

/// The shared store: a connection pool over SQLite or PostgreSQL with the
/// schema migrated to the current version. Thread-safe. The repositories
/// (user_store, number_directory, account_store, call_writer) borrow
/// connections from it.
class database {
public:
  /// Opens the store and runs pending migrations. For SQLite it creates the
  /// parent directory, turns on WAL, synchronous=FULL and foreign keys on
  /// every connection, and holds an flock on `PATH.lock` so that a second
  /// gateway process on the same file is rejected. Errors:
  /// errc::invalid_request for a malformed URL; errc::unavailable when the
  /// store cannot be opened, is locked by another process or holds a newer
  /// schema. Messages name the URL without its password.
  static caf::expected<std::shared_ptr<database>>
  open(const database_options& options);

  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database();

  /// Returns true when a trivial query succeeds.
  bool ping();

  /// Returns `sqlite` or `postgresql`.
  std::string backend() const;

  /// Returns `storage.url` without its password.
  const std::string& display_url() const;

  /// Returns the schema version after the migrations at open.
  int schema_version() const {
    return schema_version_;
  }

  /// Returns the pool; for the repositories of this library only.
  connection_pool& pool() {
    return *pool_;
  }

private:
  database() = default;

  // Declared first so that it is released last, after every connection
  // of the pool is closed.
  std::unique_ptr<file_lock> lock_;
  std::unique_ptr<connection_pool> pool_;
  int schema_version_ = 0;
};

} // namespace skyiq::storage

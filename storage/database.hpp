#pragma once

#include "storage/types.hpp"

#include <caf/expected.hpp>

#include <memory>
#include <string>

namespace skyiq::storage {

class master_key;

/// Connection settings of the store, parsed from `storage.url`.
struct database_options {
  /// `sqlite:PATH`, `postgresql://user:pass@host:port/db` or a libpq
  /// key=value string.
  std::string url;
  std::size_t pool_size = 4;
};

/// The shared store: a connection pool over SQLite or PostgreSQL, the
/// schema migrations, and the SQL differences between the two backends.
/// Thread-safe. Repositories (user_store, number_directory, account_store,
/// call_writer) borrow connections from it.
class database {
public:
  /// Opens the store, runs pending migrations and, for SQLite, takes an
  /// exclusive lock file so that a second gateway on the same file is
  /// rejected. Errors: errc::unavailable with a message naming the URL
  /// without its password.
  static caf::expected<std::shared_ptr<database>>
  open(const database_options& options);

  virtual ~database();

  /// True while a trivial query succeeds.
  virtual bool ping() = 0;

  /// `sqlite` or `postgresql`.
  virtual std::string backend() const = 0;
};

} // namespace skyiq::storage

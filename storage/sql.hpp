#pragma once

// Internal SQL layer of the storage library: bound values, result rows, a
// pooled connection and the helpers that turn Poco exceptions into
// `caf::error`. Repositories write every statement once with `?`
// placeholders; `dialect.hpp` adapts it to the backend.

#include "storage/dialect.hpp"
#include "storage/storage_url.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <Poco/Data/Session.h>
#include <Poco/Dynamic/Var.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace Poco::Data {
class Statement;
} // namespace Poco::Data

struct sqlite3;
struct sqlite3_stmt;

namespace skyiq::storage {

/// A value bound to a `?` placeholder: NULL, a 64-bit integer or text.
class sql_value {
public:
  sql_value(std::nullptr_t) {
  }
  sql_value(int value) : value_(std::int64_t{value}) {
  }
  sql_value(std::int64_t value) : value_(value) {
  }
  sql_value(std::string value) : value_(std::move(value)) {
  }
  sql_value(const char* value) : value_(std::string(value)) {
  }
  sql_value(const std::optional<std::int64_t>& value);
  sql_value(const std::optional<std::string>& value);

  void bind_to(Poco::Data::Statement& statement) const;

  /// Binds the value to the 1-based parameter `index` of a native SQLite
  /// statement. The text is not copied, so the value must outlive the
  /// statement's execution.
  int bind_to(sqlite3_stmt* statement, int index) const;

private:
  std::variant<std::monostate, std::int64_t, std::string> value_;
};

using sql_params = std::vector<sql_value>;

/// One result row; columns are read by position.
class sql_row {
public:
  /// One column value: NULL, a SQLite integer or text, or a Poco value
  /// (PostgreSQL results, and SQLite REAL values).
  using cell = std::variant<std::monostate, std::int64_t, std::string,
                            Poco::Dynamic::Var>;

  explicit sql_row(std::vector<cell> cells) : cells_(std::move(cells)) {
  }

  /// Returns the column as text; empty when NULL.
  std::string text(std::size_t column) const;
  std::optional<std::string> optional_text(std::size_t column) const;
  /// Returns the column as `text` does, moving a text value out of the row.
  std::string take_text(std::size_t column);
  /// Returns the column as an integer; 0 when NULL. Throws
  /// Poco::SyntaxException for text that is not an integer.
  std::int64_t integer(std::size_t column) const;
  std::optional<std::int64_t> optional_integer(std::size_t column) const;

private:
  bool is_null(std::size_t column) const;

  std::vector<cell> cells_;
};

/// Prepared SQLite statements of one connection, by SQL text. Preparing
/// costs more than running most of the gateway's statements, so each is
/// prepared once per connection and reset after every use.
class sqlite_statement_cache {
public:
  sqlite_statement_cache() = default;
  sqlite_statement_cache(const sqlite_statement_cache&) = delete;
  sqlite_statement_cache& operator=(const sqlite_statement_cache&) = delete;
  ~sqlite_statement_cache();

  /// Returns the statement of `sql` on `db`, preparing it on first use.
  /// Throws a Poco::Data::SQLite exception when `sql` does not compile.
  sqlite3_stmt* get(sqlite3* db, const std::string& sql);

private:
  void clear();

  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

/// A pooled session and, for SQLite, its prepared statements, which are
/// finalized before the session closes.
struct pooled_session {
  std::unique_ptr<Poco::Data::Session> session;
  std::unique_ptr<sqlite_statement_cache> statements;

  pooled_session() = default;
  pooled_session(std::unique_ptr<Poco::Data::Session> opened,
                 backend_kind backend);
  pooled_session(pooled_session&&) noexcept = default;
  pooled_session& operator=(pooled_session&& other) noexcept;
  ~pooled_session();

  explicit operator bool() const {
    return session != nullptr;
  }
};

class connection_pool;
class statement_watchdog;

/// A connection borrowed from the pool; returns to it when destroyed, and
/// rolls back a transaction left open. Its methods throw Poco exceptions,
/// which `with_connection` turns into errors.
class sql_connection {
public:
  sql_connection(connection_pool& pool, pooled_session session,
                 bool reused);
  sql_connection(sql_connection&& other) noexcept;
  sql_connection& operator=(sql_connection&&) = delete;
  ~sql_connection();

  /// Runs a statement; returns the number of rows it changed.
  std::size_t execute(std::string_view sql, const sql_params& params = {});

  /// Runs a query and returns all rows.
  std::vector<sql_row> query(std::string_view sql,
                             const sql_params& params = {});

  /// Runs a query and returns its first row, if any.
  std::optional<sql_row> query_one(std::string_view sql,
                                   const sql_params& params = {});

  void begin_write();
  void commit();
  void rollback();

  backend_kind backend() const;

  /// True while the server connection is usable.
  bool connected() const;

  /// True when the connection came from the idle list rather than being
  /// opened for this use.
  bool reused() const {
    return reused_;
  }

  /// True once a statement ran whose effect may have reached the database:
  /// a write outside a transaction, or a COMMIT. Retrying after that could
  /// apply a write twice.
  bool outcome_uncertain() const {
    return outcome_uncertain_;
  }

  /// True once a statement got no reply within the statement timeout and
  /// the connection was shut down.
  bool timed_out() const {
    return timed_out_;
  }

  /// Sets how long each later statement may wait for the server's reply
  /// (PostgreSQL only); zero turns the deadline off. Starts at
  /// `pool_options::statement_timeout`.
  void set_statement_timeout(std::chrono::milliseconds timeout) {
    statement_timeout_ = timeout;
  }

private:
  template <class Run>
  auto with_deadline(Run&& run) -> decltype(run());
  std::size_t run_plain(const char* sql);
  sqlite3* sqlite_handle() const;
  std::size_t execute_sqlite(const std::string& sql, const sql_params& params);
  std::vector<sql_row> query_sqlite(const std::string& sql,
                                    const sql_params& params);

  connection_pool* pool_;
  pooled_session session_;
  bool reused_;
  bool in_transaction_ = false;
  bool outcome_uncertain_ = false;
  bool timed_out_ = false;
  std::chrono::milliseconds statement_timeout_;
};

/// Outcome of a failed operation.
struct sql_failure {
  caf::error error;
  /// True when the operation may run once more on a fresh connection.
  bool retry = false;
};

/// Settings of the connection pool.
struct pool_options {
  std::size_t max_size = 4;
  /// Time to wait for a free connection when all are in use.
  std::chrono::milliseconds acquire_timeout{5000};
  /// Time a statement waits for a lock held by another connection:
  /// SQLite's busy timeout, PostgreSQL's lock_timeout.
  std::chrono::milliseconds busy_timeout{5000};
  /// Time a PostgreSQL statement may wait for the server's reply before
  /// its connection is shut down; zero waits without end.
  std::chrono::milliseconds statement_timeout{5000};
  /// Called once per operation that fails on the database; may be empty.
  std::function<void()> on_failure;
};

/// A bounded pool of Poco::Data sessions. Thread-safe. A session whose
/// server connection broke is dropped, together with the idle ones opened
/// before it, and the next `acquire` connects anew, so the pool recovers by
/// itself once the server is back.
class connection_pool {
public:
  connection_pool(storage_target target, pool_options options);
  ~connection_pool();

  /// Borrows a connection. Errors (errc::unavailable): no connection free
  /// within the acquire timeout, or the server cannot be reached.
  caf::expected<sql_connection> acquire();

  /// Turns the exception thrown inside an operation named `operation` into an
  /// error, and decides whether the operation may be retried.
  sql_failure classify(const sql_connection& connection,
                       const char* operation,
                       std::exception_ptr failure);

  backend_kind backend() const {
    return target_.backend;
  }

  const storage_target& target() const {
    return target_;
  }

  /// Returns a session; called by `sql_connection`.
  void release(pooled_session session, bool healthy);

  /// Reports one failed operation to `pool_options::on_failure`.
  void count_failure() const;

  /// Returns the watchdog of statement deadlines, or null when there is
  /// none (SQLite, or no statement timeout).
  statement_watchdog* watchdog() {
    return watchdog_.get();
  }

  std::chrono::milliseconds statement_timeout() const {
    return options_.statement_timeout;
  }

private:
  caf::expected<sql_connection> open_new();
  pooled_session connect();
  void log_failure(const std::string& message);

  storage_target target_;
  pool_options options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<pooled_session> idle_;
  std::size_t open_count_ = 0;
  std::chrono::steady_clock::time_point last_failure_log_{};
  std::size_t suppressed_failures_ = 0;
  std::unique_ptr<statement_watchdog> watchdog_;
};

/// Runs `f(sql_connection&)` on a pooled connection and returns its
/// result, a `caf::expected`. A Poco or standard exception becomes
/// errc::unavailable or errc::internal. When a reused connection turns out
/// to be dead and nothing may have been written, `f` runs once more on a
/// new connection, so a server restart costs no request that could be
/// repeated safely. Every failure except an error that `f` returns itself
/// is counted through `pool_options::on_failure`.
template <class F>
auto with_connection(connection_pool& pool, const char* operation, F&& f)
  -> decltype(f(std::declval<sql_connection&>())) {
  for (int attempt = 0;; ++attempt) {
    auto connection = pool.acquire();
    if (!connection) {
      pool.count_failure();
      return std::move(connection.error());
    }
    try {
      return f(*connection);
    } catch (...) {
      auto failure = pool.classify(*connection, operation,
                                   std::current_exception());
      if (!failure.retry || attempt > 0) {
        pool.count_failure();
        return std::move(failure.error);
      }
    }
  }
}

/// Runs `f` inside one write transaction: commits when `f` returns a value
/// and rolls back when it returns an error or throws.
template <class F>
auto with_transaction(connection_pool& pool, const char* operation, F&& f)
  -> decltype(f(std::declval<sql_connection&>())) {
  return with_connection(pool, operation, [&](sql_connection& connection) {
    connection.begin_write();
    auto result = f(connection);
    if (result) {
      connection.commit();
    } else {
      connection.rollback();
    }
    return result;
  });
}

} // namespace skyiq::storage

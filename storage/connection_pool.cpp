#include "storage/sql.hpp"

#include "storage/errors.hpp"
#include "storage/statement_watchdog.hpp"

#include <Poco/Data/DataException.h>
#include <Poco/Data/PostgreSQL/SessionImpl.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/Statement.h>
#include <Poco/Logger.h>

#include <libpq-fe.h>

#include <cctype>

namespace skyiq::storage {

namespace {

using session_ptr = std::unique_ptr<Poco::Data::Session>;

Poco::Logger& logger() {
  return Poco::Logger::get("gateway.storage");
}

void run_setup(Poco::Data::Session& session, const setup_statement& setup,
               const storage_target& target) {
  Poco::Data::Statement statement(session);
  statement << setup.sql;
  statement.execute();
  if (setup.expected.empty()) {
    return;
  }
  Poco::Data::RecordSet records(statement);
  auto actual = records.rowCount() > 0
                  ? records.value(0, 0).convert<std::string>()
                  : std::string("(no result)");
  if (actual != setup.expected) {
    throw Poco::Data::DataException(
      setup.sql + " returned " + actual + " instead of " + setup.expected
      + " for " + target.display
      + "; put the database on a local file system");
  }
}

// Returns `text` on one line: libpq messages span several lines with tabs.
std::string one_line(const std::string& text) {
  std::string out;
  bool in_space = false;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && !in_space && !out.empty()) {
      out += ' ';
    } else if (!space) {
      out += c;
    }
    in_space = space;
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

// Connects with libpq alone and closes the connection again; throws with
// libpq's message when the server refuses or cannot be reached.
// Poco 1.11's PostgreSQL connector never frees the PGconn of a failed
// connect (pocoproject/poco#4231), so every failed attempt through Poco
// would leak while the database is down. A probe that fails here means
// Poco is not asked to connect at all.
void probe_postgresql(const std::string& connection_string) {
  PGconn* probe = PQconnectdb(connection_string.c_str());
  if (probe == nullptr) {
    throw Poco::Data::ConnectionFailedException(
      "libpq could not allocate a connection");
  }
  if (PQstatus(probe) == CONNECTION_OK) {
    PQfinish(probe);
    return;
  }
  std::string detail = PQerrorMessage(probe);
  PQfinish(probe);
  throw Poco::Data::ConnectionFailedException(detail);
}

// Destroys `session`, closing its PostgreSQL connection even when it broke.
// Poco 1.11 calls PQfinish only for a connection whose status is still
// CONNECTION_OK, so every connection lost to a server restart, a network
// cut or the statement watchdog would leak its PGconn. Poco does not touch
// a broken connection on destruction, so freeing it afterwards is safe.
void discard(session_ptr session) {
  PGconn* broken = nullptr;
  if (auto* impl = dynamic_cast<Poco::Data::PostgreSQL::SessionImpl*>(
        session->impl())) {
    PGconn* connection = impl->handle();
    if (connection != nullptr && PQstatus(connection) != CONNECTION_OK) {
      broken = connection;
    }
  }
  session.reset();
  if (broken != nullptr) {
    PQfinish(broken);
  }
}

// Destroys a pooled session: its cached statements first, then the
// session as above.
void discard(pooled_session pooled) {
  pooled.statements.reset();
  if (pooled.session) {
    discard(std::move(pooled.session));
  }
}

} // namespace

connection_pool::connection_pool(storage_target target, pool_options options)
  : target_(std::move(target)), options_(std::move(options)) {
  if (options_.max_size == 0) {
    options_.max_size = 1;
  }
  if (target_.backend == backend_kind::postgresql
      && options_.statement_timeout.count() > 0) {
    watchdog_ = std::make_unique<statement_watchdog>();
  }
}

connection_pool::~connection_pool() {
  for (auto& session : idle_) {
    discard(std::move(session));
  }
}

pooled_session connection_pool::connect() {
  if (target_.backend == backend_kind::postgresql) {
    probe_postgresql(target_.connection_string);
  }
  auto session = target_.backend == backend_kind::sqlite
                   ? std::make_unique<Poco::Data::Session>(
                     poco_connector(target_.backend), target_.sqlite_path)
                   : std::make_unique<Poco::Data::Session>(
                     poco_connector(target_.backend),
                     target_.connection_string);
  try {
    for (const auto& setup :
         session_setup_sql(target_.backend, options_.busy_timeout)) {
      run_setup(*session, setup, target_);
    }
  } catch (...) {
    discard(std::move(session));
    throw;
  }
  return pooled_session(std::move(session), target_.backend);
}

caf::expected<sql_connection> connection_pool::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  auto can_proceed = [this] {
    return !idle_.empty() || open_count_ < options_.max_size;
  };
  if (!available_.wait_until(lock, deadline, can_proceed)) {
    lock.unlock();
    auto message = "all " + std::to_string(options_.max_size)
                   + " storage connections to " + target_.display
                   + " stayed busy for "
                   + std::to_string(options_.acquire_timeout.count())
                   + " ms";
    log_failure(message);
    return make_error(errc::unavailable,
                      message + "; retry later or raise storage.pool_size");
  }

  if (!idle_.empty()) {
    auto session = std::move(idle_.back());
    idle_.pop_back();
    return sql_connection(*this, std::move(session), true);
  }

  ++open_count_;
  lock.unlock();
  return open_new();
}

// Connects a session for a slot already counted in open_count_.
caf::expected<sql_connection> connection_pool::open_new() {
  std::string detail;
  try {
    return sql_connection(*this, connect(), false);
  } catch (const Poco::Exception& e) {
    detail = e.displayText();
  } catch (const std::exception& e) {
    detail = e.what();
  }

  {
    std::lock_guard<std::mutex> guard(mutex_);
    --open_count_;
  }
  available_.notify_one();
  auto message = "cannot connect to " + target_.display + ": "
                 + one_line(scrub(detail, target_)) + "; retry later";
  log_failure(message);
  return make_error(errc::unavailable, std::move(message));
}

void connection_pool::release(pooled_session session, bool healthy) {
  std::vector<pooled_session> dropped;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (healthy) {
      idle_.push_back(std::move(session));
    } else {
      dropped.push_back(std::move(session));
      // The other idle sessions most likely lost the same server.
      for (auto& idle : idle_) {
        dropped.push_back(std::move(idle));
      }
      idle_.clear();
      open_count_ -= dropped.size();
    }
  }
  available_.notify_all();
  for (auto& gone : dropped) {
    discard(std::move(gone));
  }
  if (!dropped.empty()) {
    logger().warning("storage-connections-dropped url=" + target_.display
                     + " count=" + std::to_string(dropped.size()));
  }
}

void connection_pool::count_failure() const {
  if (options_.on_failure) {
    options_.on_failure();
  }
}

sql_failure connection_pool::classify(const sql_connection& connection,
                                      const char* operation,
                                      std::exception_ptr failure) {
  auto code = errc::unavailable;
  std::string detail;
  try {
    std::rethrow_exception(failure);
  } catch (const Poco::Data::SQLite::DBLockedException&) {
    detail = "the database stayed locked by another connection for the "
             "busy timeout of "
             + std::to_string(options_.busy_timeout.count()) + " ms";
  } catch (const Poco::Data::DataException& e) {
    detail = e.displayText();
  } catch (const Poco::Exception& e) {
    code = errc::internal;
    detail = e.displayText();
  } catch (const std::exception& e) {
    code = errc::internal;
    detail = e.what();
  }
  sql_failure result;
  // A server that let one statement time out is likely to let the next
  // one time out too, so that failure is not retried.
  result.retry = !connection.connected() && connection.reused()
                 && !connection.outcome_uncertain()
                 && !connection.timed_out();
  auto message = std::string(operation) + " failed on " + target_.display + ": "
                 + one_line(scrub(detail, target_));
  log_failure(message + (result.retry ? " (retrying on a new connection)"
                                      : ""));
  if (code == errc::unavailable) {
    message += "; retry later";
  }
  result.error = make_error(code, std::move(message));
  return result;
}

// Logs at most one failure per second, so an outage does not flood the log
// with one line per request.
void connection_pool::log_failure(const std::string& message) {
  std::size_t suppressed = 0;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (now - last_failure_log_ < std::chrono::seconds(1)) {
      ++suppressed_failures_;
      return;
    }
    last_failure_log_ = now;
    suppressed = std::exchange(suppressed_failures_, 0);
  }
  logger().error("storage-failed " + message
                 + " suppressed_since_last=" + std::to_string(suppressed));
}

} // namespace skyiq::storage

#include "storage/sql.hpp"

#include "storage/statement_watchdog.hpp"

#include <Poco/Data/DataException.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Statement.h>
#include <Poco/NumberFormatter.h>
#include <Poco/NumberParser.h>
#include <Poco/Nullable.h>

#include <sqlite3.h>

namespace skyiq::storage {

using Poco::Data::Keywords::bind;

sql_value::sql_value(const std::optional<std::int64_t>& value) {
  if (value) {
    value_ = *value;
  }
}

sql_value::sql_value(const std::optional<std::string>& value) {
  if (value) {
    value_ = *value;
  }
}

void sql_value::bind_to(Poco::Data::Statement& statement) const {
  if (auto number = std::get_if<std::int64_t>(&value_)) {
    statement.addBind(bind(Poco::Int64{*number}));
  } else if (auto text = std::get_if<std::string>(&value_)) {
    statement.addBind(bind(*text));
  } else {
    statement.addBind(bind(Poco::Nullable<std::string>{}));
  }
}

int sql_value::bind_to(sqlite3_stmt* statement, int index) const {
  if (auto number = std::get_if<std::int64_t>(&value_)) {
    return sqlite3_bind_int64(statement, index, *number);
  }
  if (auto text = std::get_if<std::string>(&value_)) {
    return sqlite3_bind_text(statement, index, text->data(),
                             static_cast<int>(text->size()), SQLITE_STATIC);
  }
  return sqlite3_bind_null(statement, index);
}

bool sql_row::is_null(std::size_t column) const {
  return std::holds_alternative<std::monostate>(cells_.at(column));
}

std::string sql_row::text(std::size_t column) const {
  const auto& value = cells_.at(column);
  if (auto text = std::get_if<std::string>(&value)) {
    return *text;
  }
  if (auto number = std::get_if<std::int64_t>(&value)) {
    return Poco::NumberFormatter::format(*number);
  }
  if (auto var = std::get_if<Poco::Dynamic::Var>(&value)) {
    return var->convert<std::string>();
  }
  return std::string();
}

std::string sql_row::take_text(std::size_t column) {
  if (auto text = std::get_if<std::string>(&cells_.at(column))) {
    return std::move(*text);
  }
  return this->text(column);
}

std::optional<std::string> sql_row::optional_text(std::size_t column) const {
  if (is_null(column)) {
    return std::nullopt;
  }
  return text(column);
}

std::int64_t sql_row::integer(std::size_t column) const {
  const auto& value = cells_.at(column);
  if (auto number = std::get_if<std::int64_t>(&value)) {
    return *number;
  }
  if (auto text = std::get_if<std::string>(&value)) {
    return Poco::NumberParser::parse64(*text);
  }
  if (auto var = std::get_if<Poco::Dynamic::Var>(&value)) {
    return var->convert<Poco::Int64>();
  }
  return 0;
}

std::optional<std::int64_t>
sql_row::optional_integer(std::size_t column) const {
  if (is_null(column)) {
    return std::nullopt;
  }
  return integer(column);
}

// Bounds the cache for callers that build many distinct statements; the
// gateway's repositories use a few dozen.
constexpr std::size_t max_cached_statements = 64;

sqlite_statement_cache::~sqlite_statement_cache() {
  clear();
}

void sqlite_statement_cache::clear() {
  for (auto& entry : statements_) {
    sqlite3_finalize(entry.second);
  }
  statements_.clear();
}

sqlite3_stmt* sqlite_statement_cache::get(sqlite3* db,
                                          const std::string& sql) {
  if (auto it = statements_.find(sql); it != statements_.end()) {
    return it->second;
  }
  if (statements_.size() >= max_cached_statements) {
    clear();
  }
  sqlite3_stmt* statement = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(statement);
    Poco::Data::SQLite::Utility::throwException(db, rc & 0xff, sql);
  }
  statements_.emplace(sql, statement);
  return statement;
}

pooled_session::pooled_session(std::unique_ptr<Poco::Data::Session> opened,
                               backend_kind backend)
  : session(std::move(opened)) {
  if (backend == backend_kind::sqlite) {
    statements = std::make_unique<sqlite_statement_cache>();
  }
}

pooled_session& pooled_session::operator=(pooled_session&& other) noexcept {
  statements.reset();
  session.reset();
  session = std::move(other.session);
  statements = std::move(other.statements);
  return *this;
}

pooled_session::~pooled_session() {
  statements.reset();
}

namespace {

// Resets a cached statement when its use ends, so that it keeps no read
// snapshot open and no bound text that could dangle.
class statement_use {
public:
  explicit statement_use(sqlite3_stmt* statement) : statement_(statement) {
  }
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;
  ~statement_use() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

private:
  sqlite3_stmt* statement_;
};

void bind_all(sqlite3* db, sqlite3_stmt* statement, const sql_params& params,
              const std::string& sql) {
  if (static_cast<int>(params.size())
      != sqlite3_bind_parameter_count(statement)) {
    throw Poco::Data::DataException(
      std::to_string(params.size()) + " values for "
      + std::to_string(sqlite3_bind_parameter_count(statement))
      + " placeholders in " + sql);
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    int rc = params[i].bind_to(statement, static_cast<int>(i + 1));
    if (rc != SQLITE_OK) {
      Poco::Data::SQLite::Utility::throwException(db, rc & 0xff, sql);
    }
  }
}

sql_row::cell read_cell(sqlite3_stmt* statement, int column) {
  switch (sqlite3_column_type(statement, column)) {
  case SQLITE_NULL:
    return std::monostate{};
  case SQLITE_INTEGER:
    return static_cast<std::int64_t>(sqlite3_column_int64(statement, column));
  case SQLITE_FLOAT:
    return Poco::Dynamic::Var(sqlite3_column_double(statement, column));
  default: {
    // Text and blobs: the pointer comes first, then the size, as
    // sqlite3_column_bytes requires.
    auto* data = static_cast<const char*>(
      sqlite3_column_blob(statement, column));
    auto size = static_cast<std::size_t>(
      sqlite3_column_bytes(statement, column));
    return std::string(data == nullptr ? "" : data, size);
  }
  }
}

} // namespace

sql_connection::sql_connection(connection_pool& pool, pooled_session session,
                               bool reused)
  : pool_(&pool), session_(std::move(session)), reused_(reused),
    statement_timeout_(pool.statement_timeout()) {
}

sql_connection::sql_connection(sql_connection&& other) noexcept
  : pool_(other.pool_),
    session_(std::move(other.session_)),
    reused_(other.reused_),
    in_transaction_(other.in_transaction_),
    outcome_uncertain_(other.outcome_uncertain_),
    timed_out_(other.timed_out_),
    statement_timeout_(other.statement_timeout_) {
}

// Runs `run`, which must create and destroy its Poco statement inside,
// because Poco's PostgreSQL statement deallocates itself on the server in
// its destructor. Past the deadline the watchdog shuts the socket down.
// The statement then fails with a message that names the timeout, and the
// connection counts as broken.
template <class Run>
auto sql_connection::with_deadline(Run&& run) -> decltype(run()) {
  auto* watchdog = pool_->watchdog();
  int socket = watchdog != nullptr && statement_timeout_.count() > 0
                 ? postgres_socket(*session_.session)
                 : -1;
  if (socket < 0) {
    return run();
  }
  auto ticket = watchdog->arm(socket, statement_timeout_);
  try {
    auto result = run();
    // Poco swallows errors of the deallocation that may have been cut.
    timed_out_ = watchdog->disarm(ticket) || timed_out_;
    return result;
  } catch (...) {
    if (!watchdog->disarm(ticket)) {
      throw;
    }
  }
  timed_out_ = true;
  throw Poco::Data::DataException(
    "no reply from the server within the statement timeout of "
    + std::to_string(statement_timeout_.count())
    + " ms, so the connection was closed");
}

sql_connection::~sql_connection() {
  if (!session_) {
    return;
  }
  bool healthy = true;
  if (in_transaction_) {
    try {
      rollback();
    } catch (...) {
      healthy = false;
    }
  }
  pool_->release(std::move(session_), healthy && connected());
}

sqlite3* sql_connection::sqlite_handle() const {
  return Poco::Data::SQLite::Utility::dbHandle(*session_.session);
}

// Runs a cached statement to completion and returns the rows it changed.
std::size_t sql_connection::execute_sqlite(const std::string& sql,
                                           const sql_params& params) {
  auto* db = sqlite_handle();
  auto* statement = session_.statements->get(db, sql);
  statement_use use(statement);
  bind_all(db, statement, params, sql);
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) {
    Poco::Data::SQLite::Utility::throwException(db, rc & 0xff, sql);
  }
  return static_cast<std::size_t>(sqlite3_changes(db));
}

std::vector<sql_row> sql_connection::query_sqlite(const std::string& sql,
                                                  const sql_params& params) {
  auto* db = sqlite_handle();
  auto* statement = session_.statements->get(db, sql);
  statement_use use(statement);
  bind_all(db, statement, params, sql);
  std::vector<sql_row> rows;
  const int columns = sqlite3_column_count(statement);
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    std::vector<sql_row::cell> cells;
    cells.reserve(static_cast<std::size_t>(columns));
    for (int column = 0; column < columns; ++column) {
      cells.push_back(read_cell(statement, column));
    }
    rows.emplace_back(std::move(cells));
  }
  if (rc != SQLITE_DONE) {
    Poco::Data::SQLite::Utility::throwException(db, rc & 0xff, sql);
  }
  return rows;
}

// SQLite statements go through the connection's statement cache and the
// native API. NOTE: Poco 1.11's PostgreSQL connector prepares every
// statement and deallocates it afterwards, so one statement costs about
// three round trips there. Caching prepared statements on PostgreSQL
// connections too would cut batch latency if it ever matters.
std::size_t sql_connection::execute(std::string_view sql,
                                    const sql_params& params) {
  if (!in_transaction_) {
    outcome_uncertain_ = true;
  }
  if (session_.statements) {
    return execute_sqlite(std::string(sql), params);
  }
  return with_deadline([&] {
    Poco::Data::Statement statement(*session_.session);
    statement << translate_placeholders(backend(), sql);
    for (const auto& param : params) {
      param.bind_to(statement);
    }
    return statement.execute();
  });
}

std::vector<sql_row> sql_connection::query(std::string_view sql,
                                           const sql_params& params) {
  if (session_.statements) {
    return query_sqlite(std::string(sql), params);
  }
  return with_deadline([&] {
    Poco::Data::Statement statement(*session_.session);
    statement << translate_placeholders(backend(), sql);
    for (const auto& param : params) {
      param.bind_to(statement);
    }
    statement.execute();
    Poco::Data::RecordSet records(statement);
    std::vector<sql_row> rows;
    auto columns = records.columnCount();
    auto count = records.rowCount();
    rows.reserve(count);
    for (std::size_t row = 0; row < count; ++row) {
      std::vector<sql_row::cell> cells(columns);
      for (std::size_t column = 0; column < columns; ++column) {
        if (!records.isNull(column, row)) {
          cells[column] = records.value(column, row);
        }
      }
      rows.emplace_back(std::move(cells));
    }
    return rows;
  });
}

std::size_t sql_connection::run_plain(const char* sql) {
  if (session_.statements) {
    return execute_sqlite(sql, {});
  }
  return with_deadline([&] {
    Poco::Data::Statement statement(*session_.session);
    statement << sql;
    return statement.execute();
  });
}

std::optional<sql_row> sql_connection::query_one(std::string_view sql,
                                                 const sql_params& params) {
  auto rows = query(sql, params);
  if (rows.empty()) {
    return std::nullopt;
  }
  return std::move(rows.front());
}

void sql_connection::begin_write() {
  run_plain(begin_write_sql(backend()));
  in_transaction_ = true;
}

void sql_connection::commit() {
  outcome_uncertain_ = true;
  run_plain("COMMIT");
  in_transaction_ = false;
}

void sql_connection::rollback() {
  in_transaction_ = false;
  run_plain("ROLLBACK");
}

backend_kind sql_connection::backend() const {
  return pool_->backend();
}

bool sql_connection::connected() const {
  return session_ && !timed_out_ && session_.session->isConnected();
}

} // namespace skyiq::storage

#include "storage/sql.hpp"

#include "storage/statement_watchdog.hpp"

#include <Poco/Data/DataException.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

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

std::string sql_row::text(std::size_t column) const {
  return nulls_.at(column) ? std::string()
                           : values_.at(column).convert<std::string>();
}

std::optional<std::string> sql_row::optional_text(std::size_t column) const {
  if (nulls_.at(column)) {
    return std::nullopt;
  }
  return values_.at(column).convert<std::string>();
}

std::int64_t sql_row::integer(std::size_t column) const {
  return nulls_.at(column) ? 0 : values_.at(column).convert<Poco::Int64>();
}

std::optional<std::int64_t>
sql_row::optional_integer(std::size_t column) const {
  if (nulls_.at(column)) {
    return std::nullopt;
  }
  return values_.at(column).convert<Poco::Int64>();
}

sql_connection::sql_connection(connection_pool& pool,
                               std::unique_ptr<Poco::Data::Session> session,
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
                 ? postgres_socket(*session_)
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

// NOTE: Poco 1.11's PostgreSQL connector prepares every statement and
// deallocates it afterwards, so one statement costs about three round
// trips. Caching prepared statements per connection would cut batch
// latency on PostgreSQL if it ever matters.
std::size_t sql_connection::execute(std::string_view sql,
                                    const sql_params& params) {
  if (!in_transaction_) {
    outcome_uncertain_ = true;
  }
  return with_deadline([&] {
    Poco::Data::Statement statement(*session_);
    statement << translate_placeholders(backend(), sql);
    for (const auto& param : params) {
      param.bind_to(statement);
    }
    return statement.execute();
  });
}

std::vector<sql_row> sql_connection::query(std::string_view sql,
                                           const sql_params& params) {
  return with_deadline([&] {
    Poco::Data::Statement statement(*session_);
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
      std::vector<Poco::Dynamic::Var> values(columns);
      std::vector<bool> nulls(columns);
      for (std::size_t column = 0; column < columns; ++column) {
        nulls[column] = records.isNull(column, row);
        if (!nulls[column]) {
          values[column] = records.value(column, row);
        }
      }
      rows.emplace_back(std::move(values), std::move(nulls));
    }
    return rows;
  });
}

std::size_t sql_connection::run_plain(const char* sql) {
  return with_deadline([&] {
    Poco::Data::Statement statement(*session_);
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
  return session_ && !timed_out_ && session_->isConnected();
}

} // namespace skyiq::storage

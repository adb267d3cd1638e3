#include "storage/sql.hpp"

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
  : pool_(&pool), session_(std::move(session)), reused_(reused) {
}

sql_connection::sql_connection(sql_connection&& other) noexcept
  : pool_(other.pool_),
    session_(std::move(other.session_)),
    reused_(other.reused_),
    in_transaction_(other.in_transaction_),
    outcome_uncertain_(other.outcome_uncertain_) {
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
  Poco::Data::Statement statement(*session_);
  statement << translate_placeholders(backend(), sql);
  for (const auto& param : params) {
    param.bind_to(statement);
  }
  return statement.execute();
}

std::vector<sql_row> sql_connection::query(std::string_view sql,
                                           const sql_params& params) {
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
  Poco::Data::Statement statement(*session_);
  statement << begin_write_sql(backend());
  statement.execute();
  in_transaction_ = true;
}

void sql_connection::commit() {
  outcome_uncertain_ = true;
  Poco::Data::Statement statement(*session_);
  statement << "COMMIT";
  statement.execute();
  in_transaction_ = false;
}

void sql_connection::rollback() {
  in_transaction_ = false;
  Poco::Data::Statement statement(*session_);
  statement << "ROLLBACK";
  statement.execute();
}

backend_kind sql_connection::backend() const {
  return pool_->backend();
}

bool sql_connection::connected() const {
  return session_ && session_->isConnected();
}

} // namespace skyiq::storage

#include "tests/e2e/postgres_database.hpp"

#include <catch2/catch.hpp>

#include <libpq-fe.h>

#include <cctype>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>

namespace skyiq::testing {

namespace {

using connection_ptr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using result_ptr = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string percent_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Quotes a value for a libpq key=value string.
std::string quote_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

std::string random_name() {
  std::random_device seed;
  std::mt19937_64 engine(seed());
  static const char* hex = "0123456789abcdef";
  std::string name = "skyiq_e2e_";
  for (int i = 0; i < 16; ++i) {
    name += hex[engine() % 16];
  }
  return name;
}

// The server of the tests without its password, for failure messages.
std::string display_of(
  const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [keyword, value] : params) {
    if (keyword != "password") {
      out += (out.empty() ? "" : " ") + keyword + "=" + value;
    }
  }
  return out;
}

connection_ptr connect(const std::string& conninfo) {
  return connection_ptr(PQconnectdb(conninfo.c_str()), &PQfinish);
}

// Runs `sql`; returns an empty string on success, else libpq's message.
std::string run(PGconn* connection, const std::string& sql,
                std::vector<std::string>* rows = nullptr) {
  result_ptr result(PQexec(connection, sql.c_str()), &PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return PQerrorMessage(connection);
  }
  if (rows) {
    for (int row = 0; row < PQntuples(result.get()); ++row) {
      rows->emplace_back(PQgetvalue(result.get(), row, 0));
    }
  }
  return {};
}

} // namespace

postgres_database::postgres_database() : name_(random_name()) {
  const char* url = std::getenv(postgres_url_variable);
  if (url == nullptr || *url == '\0') {
    FAIL(postgres_url_variable
         << " is not set: set it to a PostgreSQL server such as "
            "postgresql://postgres@127.0.0.1:55432/postgres (scripts/test-all "
            "starts one)");
  }
  server_url_ = url;
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url, &parse_error);
  if (options == nullptr) {
    const std::string message = parse_error ? parse_error : "out of memory";
    PQfreemem(parse_error);
    FAIL(postgres_url_variable << " is not a valid libpq connection string: "
                               << message);
  }
  for (auto* option = options; option->keyword != nullptr; ++option) {
    if (option->val != nullptr && *option->val != '\0'
        && std::string(option->keyword) != "dbname") {
      params_.emplace_back(option->keyword, option->val);
    }
  }
  PQconninfoFree(options);

  auto admin = connect(server_url_);
  if (PQstatus(admin.get()) != CONNECTION_OK) {
    FAIL("cannot connect to the PostgreSQL server of "
         << postgres_url_variable << " (" << display_of(params_)
         << "): " << PQerrorMessage(admin.get()));
  }
  const auto failure = run(admin.get(), "CREATE DATABASE " + name_);
  if (!failure.empty()) {
    FAIL("CREATE DATABASE " << name_ << " failed on "
                            << display_of(params_) << ": " << failure);
  }
}

postgres_database::~postgres_database() {
  auto admin = connect(server_url_);
  const auto failure =
    PQstatus(admin.get()) != CONNECTION_OK
      ? std::string(PQerrorMessage(admin.get()))
      : run(admin.get(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  if (!failure.empty()) {
    // A destructor cannot fail the test; the database only costs space on
    // the throwaway server.
    std::cerr << "warning: cannot drop test database " << name_ << ": "
              << failure << "\n";
  }
}

std::string postgres_database::value_of(const std::string& keyword) const {
  for (const auto& [name, value] : params_) {
    if (name == keyword) {
      return value;
    }
  }
  return {};
}

std::string postgres_database::host() const {
  return value_of("host");
}

std::uint16_t postgres_database::port() const {
  const auto text = value_of("port");
  return static_cast<std::uint16_t>(text.empty() ? 5432 : std::stoi(text));
}

std::string postgres_database::password() const {
  return value_of("password");
}

std::string postgres_database::url() const {
  std::string authority;
  const auto user = value_of("user");
  const auto password = value_of("password");
  if (!user.empty()) {
    authority = percent_encode(user);
    if (!password.empty()) {
      authority += ":" + percent_encode(password);
    }
    authority += "@";
  }
  const auto host_name = host();
  authority += host_name.find(':') != std::string::npos
                 ? "[" + host_name + "]"
                 : percent_encode(host_name);
  if (!value_of("port").empty()) {
    authority += ":" + value_of("port");
  }
  std::string query;
  for (const auto& [keyword, value] : params_) {
    if (keyword != "user" && keyword != "password" && keyword != "host"
        && keyword != "port") {
      query += (query.empty() ? "?" : "&") + keyword + "="
               + percent_encode(value);
    }
  }
  return "postgresql://" + authority + "/" + name_ + query;
}

std::string postgres_database::key_value(const std::string& host,
                                         std::uint16_t port,
                                         const std::string& extra) const {
  std::string out = "host=" + quote_value(host)
                    + " port=" + std::to_string(port) + " dbname=" + name_;
  for (const auto& [keyword, value] : params_) {
    if (keyword != "host" && keyword != "port" && keyword != "hostaddr") {
      out += " " + keyword + "=" + quote_value(value);
    }
  }
  return extra.empty() ? out : out + " " + extra;
}

std::vector<std::string> postgres_database::query(
  const std::string& sql) const {
  auto connection = connect(key_value(host(), port()));
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    FAIL("cannot connect to test database " << name_ << ": "
                                            << PQerrorMessage(
                                                 connection.get()));
  }
  std::vector<std::string> rows;
  const auto failure = run(connection.get(), sql, &rows);
  if (!failure.empty()) {
    FAIL(sql << " failed in " << name_ << ": " << failure);
  }
  return rows;
}

} // namespace skyiq::testing

#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace skyiq::testing {

/// Name of the environment variable that names the PostgreSQL server of
/// the tests, as a libpq URL or key=value string.
inline const char* const postgres_url_variable = "SKYIQ_TEST_POSTGRES_URL";

/// A PostgreSQL database with a random name, created empty through libpq
/// on the server named by SKYIQ_TEST_POSTGRES_URL and dropped on
/// destruction (WITH (FORCE), so that connections a killed gateway left
/// behind do not keep it).
class postgres_database {
public:
  /// Creates the database. Fails the current test, naming the server
  /// without its password, when SKYIQ_TEST_POSTGRES_URL is missing or the
  /// server cannot be reached or refuses CREATE DATABASE.
  postgres_database();
  ~postgres_database();

  postgres_database(const postgres_database&) = delete;
  postgres_database& operator=(const postgres_database&) = delete;

  const std::string& name() const {
    return name_;
  }

  /// Returns the server's host as SKYIQ_TEST_POSTGRES_URL gives it.
  std::string host() const;

  /// Returns the server's port; 5432 when the URL names none.
  std::uint16_t port() const;

  /// Returns the password that SKYIQ_TEST_POSTGRES_URL contains, if any.
  std::string password() const;

  /// Returns `postgresql://user:password@host:port/NAME?...` with every
  /// other connection parameter of SKYIQ_TEST_POSTGRES_URL kept.
  std::string url() const;

  /// Returns the same connection as a libpq key=value string, with `host`
  /// and `port` replaced (to go through a proxy) and `extra` appended.
  std::string key_value(const std::string& host, std::uint16_t port,
                        const std::string& extra = "") const;

  /// Runs `sql` in this database and returns the first column of every
  /// row as text. Fails the test when the statement fails.
  std::vector<std::string> query(const std::string& sql) const;

private:
  std::string value_of(const std::string& keyword) const;

  std::string name_;
  /// Connection parameters of SKYIQ_TEST_POSTGRES_URL, as libpq parsed
  /// them, without dbname.
  std::vector<std::pair<std::string, std::string>> params_;
  std::string server_url_;
};

} // namespace skyiq::testing

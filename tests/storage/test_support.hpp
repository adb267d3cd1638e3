#pragma once

// Fixtures of the storage tests. The same test sources build twice: into
// storage_test against SQLite files in a temporary directory, and into
// storage_pg_test against the PostgreSQL server named by the environment
// variable SKYIQ_TEST_POSTGRES_URL, in a fresh schema per test.

#include "storage/account_store.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/user_store.hpp"

#include <memory>
#include <string>

namespace skyiq::storage::test {

/// Argon2id parameters cheap enough for tests: 64 KiB, one pass.
argon2_params cheap_argon2();

/// A directory under /tmp, removed with its contents on destruction.
class temp_dir {
public:
  temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir();

  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

/// True in the PostgreSQL build of the tests.
bool testing_postgres();

/// An empty store of the backend under test, opened and migrated.
class test_store {
public:
  test_store();
  test_store(const test_store&) = delete;
  test_store& operator=(const test_store&) = delete;
  ~test_store();

  /// Options that open this store again, e.g. after `close`.
  database_options options() const;

  /// Opens the store; fails the test when it cannot be opened.
  std::shared_ptr<database> open();

  /// Drops this fixture's reference to the open database.
  void close() {
    db_.reset();
  }

  std::shared_ptr<database> db() const {
    return db_;
  }

  std::shared_ptr<const master_key> key() const {
    return key_;
  }

  /// Signs up `email` and returns the new account id.
  std::string new_account(const std::string& email);

  account_store store_for(const std::string& account_id) const;

  const temp_dir& dir() const {
    return dir_;
  }

  /// Returns the PostgreSQL schema of this store; empty for SQLite.
  const std::string& schema() const {
    return schema_;
  }

private:
  temp_dir dir_;
  std::string url_;
  std::string schema_;
  std::shared_ptr<database> db_;
  std::shared_ptr<const master_key> key_;
};

/// Returns the PostgreSQL URL from SKYIQ_TEST_POSTGRES_URL; fails the test
/// when it is not set.
std::string postgres_url();

/// Runs `sql` on the PostgreSQL server of the tests outside the pool.
void postgres_admin(const std::string& sql);

/// Returns `url` with the search path and the application name set to
/// `schema`, so that a test can find its own server sessions.
std::string in_schema(const std::string& url, const std::string& schema);

/// A call record with the given CallSid and status, to the number +1555.
call_record sample_call(const std::string& call_sid,
                        const std::string& status = "ringing");

} // namespace skyiq::storage::test

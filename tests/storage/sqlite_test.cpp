// Behaviour specific to the SQLite backend.

#include "test_support.hpp"

#include "storage/call_writer.hpp"
#include "storage/errors.hpp"
#include "storage/migrations.hpp"
#include "storage/sql.hpp"

#include <catch2/catch.hpp>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include <atomic>
#include <fstream>
#include <unistd.h>

using namespace skyiq;
using namespace skyiq::storage;

namespace {

std::string pragma(sql_connection& connection, const std::string& name) {
  return connection.query_one("PRAGMA " + name)->text(0);
}

// Holds SQLite's write lock from a connection outside the pool.
class write_lock_holder {
public:
  explicit write_lock_holder(const std::string& path)
    : session_("SQLite", path) {
    Poco::Data::Statement statement(session_);
    statement << "BEGIN IMMEDIATE";
    statement.execute();
  }
  ~write_lock_holder() {
    Poco::Data::Statement statement(session_);
    statement << "ROLLBACK";
    statement.execute();
  }

private:
  Poco::Data::Session session_;
};

} // namespace

TEST_CASE("second open of a SQLite file is refused") {
  test::test_store store;
  auto second = database::open(store.options());
  REQUIRE_FALSE(second);
  CHECK(code_of(second.error()) == errc::unavailable);
  auto message = message_of(second.error());
  CHECK(message.find("is in use by another gateway process (pid "
                     + std::to_string(::getpid()) + ",")
        != std::string::npos);
  CHECK(message.find(store.dir().path() + "/gateway.db") != std::string::npos);
  store.close();
  CHECK(database::open(store.options()));
}

TEST_CASE("every SQLite connection gets the pragmas") {
  test::test_store store;
  auto& pool = store.db()->pool();
  auto first = pool.acquire();
  auto second = pool.acquire();
  REQUIRE(first);
  REQUIRE(second);
  for (auto* connection : {&*first, &*second}) {
    CHECK(pragma(*connection, "journal_mode") == "wal");
    CHECK(pragma(*connection, "synchronous") == "2");
    CHECK(pragma(*connection, "foreign_keys") == "1");
    CHECK(pragma(*connection, "busy_timeout") == "5000");
  }
}

TEST_CASE("SQLite locked past the busy timeout is unavailable") {
  test::test_store store;
  auto account_id = store.new_account("a@example.com");
  store.close();
  auto options = store.options();
  options.busy_timeout = std::chrono::milliseconds(100);
  std::atomic<int> failures{0};
  options.on_failure = [&failures] { ++failures; };
  auto db = database::open(options);
  REQUIRE(db);
  CHECK(failures == 0);
  account_store alice(*db, store.key(), account_id);
  call_writer writer(*db);
  {
    write_lock_holder holder(store.dir().path() + "/gateway.db");
    auto saved = alice.save_profile({});
    REQUIRE_FALSE(saved);
    CHECK(code_of(saved.error()) == errc::unavailable);
    CHECK(message_of(saved.error()).find("locked") != std::string::npos);
    auto results = writer.commit(
      {alice.prepare_webhook_call(test::sample_call("CA1")),
       alice.prepare_webhook_call(test::sample_call("CA2"))});
    REQUIRE(results.size() == 2);
    for (const auto& result : results) {
      REQUIRE_FALSE(result);
      CHECK(code_of(result.error()) == errc::unavailable);
    }
  }
  // One failed profile save and one failed batch.
  CHECK(failures == 2);
  CHECK(alice.list_calls({}).value().calls.empty());
  CHECK(alice.save_profile({}));
  // An error the operation returns by design is not a database failure.
  REQUIRE(alice.create_call(test::sample_call("CA3")));
  auto duplicate = alice.create_call(test::sample_call("CA3"));
  REQUIRE_FALSE(duplicate);
  CHECK(code_of(duplicate.error()) == errc::call_exists);
  CHECK(failures == 2);
}

TEST_CASE("unopenable SQLite path is unavailable") {
  test::temp_dir dir;
  std::ofstream(dir.path() + "/file") << "x";
  database_options options;
  options.url = "sqlite:" + dir.path() + "/file/gateway.db";
  auto db = database::open(options);
  REQUIRE_FALSE(db);
  CHECK(code_of(db.error()) == errc::unavailable);
  CHECK(message_of(db.error()).find(dir.path()) != std::string::npos);
}

TEST_CASE("malformed storage url is an invalid request") {
  database_options options;
  options.url = "mysql://localhost/gateway";
  auto db = database::open(options);
  REQUIRE_FALSE(db);
  CHECK(code_of(db.error()) == errc::invalid_request);
}

TEST_CASE("migrations are recorded once") {
  test::test_store store;
  store.close();
  store.open();
  auto rows = with_connection(
    store.db()->pool(), "test query",
    [](sql_connection& c) -> caf::expected<std::vector<sql_row>> {
      return c.query("SELECT version FROM schema_migrations");
    });
  REQUIRE(rows);
  CHECK(rows->size() == std::size_t(latest_schema_version()));
  CHECK(store.db()->schema_version() == latest_schema_version());
  CHECK(store.db()->backend() == "sqlite");
  CHECK(store.db()->ping());
}

// Behaviour specific to the PostgreSQL backend: lost connections, the
// pool's recovery and concurrent migrations.

#include "test_support.hpp"
#include "tests/support/tcp_proxy.hpp"

#include "storage/call_writer.hpp"
#include "storage/errors.hpp"
#include "storage/migrations.hpp"
#include "storage/sql.hpp"
#include "storage/storage_url.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace skyiq;
using namespace skyiq::storage;

namespace {

constexpr const char* proxy_password = "proxy-secret-pw";

// Returns the value of `key` in a rendered libpq key=value string.
std::string keyword_value(const std::string& connection_string,
                          const std::string& key) {
  auto start = connection_string.find(key + "=");
  REQUIRE(start != std::string::npos);
  start += key.size() + 1;
  return connection_string.substr(start,
                                  connection_string.find(' ', start) - start);
}

std::string connection_string_of(const std::string& url) {
  auto target = parse_storage_url(url);
  REQUIRE(target);
  return target->connection_string;
}

// A store of the test schema reached through a proxy that can cut it off.
struct proxied_store {
  explicit proxied_store(test::test_store& store,
                         std::chrono::milliseconds statement_timeout =
                           std::chrono::milliseconds(5000))
    : base(connection_string_of(store.options().url)),
      proxy(keyword_value(base, "host"),
            static_cast<std::uint16_t>(
              std::stoi(keyword_value(base, "port")))) {
    database_options options;
    options.url = base + " host=127.0.0.1 port="
                  + std::to_string(proxy.port()) + " password="
                  + proxy_password + " connect_timeout=2";
    options.acquire_timeout = std::chrono::milliseconds(2000);
    options.statement_timeout = statement_timeout;
    auto opened = database::open(options);
    if (!opened) {
      FAIL("cannot open through the proxy: " << message_of(opened.error()));
    }
    db = *opened;
  }

  std::string base;
  skyiq::testing::tcp_proxy proxy;
  std::shared_ptr<database> db;
};

void check_unavailable(const caf::error& err) {
  CHECK(code_of(err) == errc::unavailable);
  CHECK(message_of(err).find(proxy_password) == std::string::npos);
}

} // namespace

TEST_CASE("postgres store is reachable") {
  test::test_store store;
  CHECK(store.db()->backend() == "postgresql");
  CHECK(store.db()->ping());
  CHECK(store.db()->schema_version() == latest_schema_version());
}

TEST_CASE("lost connection is unavailable then recovers") {
  test::test_store store;
  auto account_id = store.new_account("a@example.com");
  proxied_store proxied(store);
  account_store alice(proxied.db, store.key(), account_id);
  call_writer writer(proxied.db);
  REQUIRE(alice.create_call(test::sample_call("CA1")));

  proxied.proxy.cut();
  auto listed = alice.list_calls({});
  REQUIRE_FALSE(listed);
  check_unavailable(listed.error());
  auto results = writer.commit(
    {alice.prepare_webhook_call(test::sample_call("CA2")),
     alice.prepare_webhook_call(test::sample_call("CA3"))});
  for (const auto& result : results) {
    REQUIRE_FALSE(result);
    check_unavailable(result.error());
  }
  CHECK_FALSE(proxied.db->ping());

  proxied.proxy.restore();
  auto after = alice.list_calls({});
  REQUIRE(after);
  CHECK(after->calls.size() == 1);
  REQUIRE(writer.commit({alice.prepare_webhook_call(
    test::sample_call("CA4"))})[0]);
  CHECK(alice.list_calls({}).value().calls.size() == 2);
}

TEST_CASE("unanswered statement times out then recovers") {
  test::test_store store;
  auto account_id = store.new_account("a@example.com");
  proxied_store proxied(store, std::chrono::milliseconds(300));
  account_store alice(proxied.db, store.key(), account_id);
  REQUIRE(alice.create_call(test::sample_call("CA1")));

  // The connection stays open, but the server never replies.
  proxied.proxy.stall();
  auto started = std::chrono::steady_clock::now();
  auto listed = alice.list_calls({});
  auto waited = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(listed);
  check_unavailable(listed.error());
  CHECK(message_of(listed.error()).find("statement timeout of 300 ms")
        != std::string::npos);
  // The deadline, not the connect timeout of a retry, ended the wait.
  CHECK(waited < std::chrono::milliseconds(1500));

  proxied.proxy.restore();
  auto after = alice.list_calls({});
  REQUIRE(after);
  CHECK(after->calls.size() == 1);
}

TEST_CASE("row locked past the lock timeout is unavailable") {
  test::test_store store;
  auto account_id = store.new_account("a@example.com");
  auto options = store.options();
  options.busy_timeout = std::chrono::milliseconds(200);
  std::atomic<int> failures{0};
  options.on_failure = [&failures] { ++failures; };
  auto db = database::open(options);
  REQUIRE(db);
  account_store alice(*db, store.key(), account_id);
  twilio_credentials credentials{"AC" + std::string(32, 'a'), "token"};
  claimed_number number{"+15550003333", "PN" + std::string(32, 'b'), 0};

  {
    // Another session locks the account row, as a concurrent setup would.
    auto holder = (*db)->pool().acquire();
    REQUIRE(holder);
    holder->begin_write();
    holder->query("SELECT id FROM accounts WHERE id = ? FOR UPDATE",
                  {account_id});
    auto started = std::chrono::steady_clock::now();
    auto saved = alice.save_setup(credentials, number);
    auto waited = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(saved);
    CHECK(code_of(saved.error()) == errc::unavailable);
    CHECK(message_of(saved.error()).find("lock timeout") != std::string::npos);
    CHECK(waited < std::chrono::seconds(3));
    CHECK(failures == 1);
    holder->rollback();
  }

  CHECK(alice.save_setup(credentials, number).value());
  CHECK(failures == 1);
}

TEST_CASE("unreachable server is unavailable without password") {
  skyiq::testing::tcp_proxy proxy("127.0.0.1", 1);
  proxy.cut();
  database_options options;
  options.url = "host=127.0.0.1 port=" + std::to_string(proxy.port())
                + " user=postgres password=" + proxy_password
                + " dbname=postgres connect_timeout=2";
  auto db = database::open(options);
  REQUIRE_FALSE(db);
  check_unavailable(db.error());
  CHECK(message_of(db.error()).find("127.0.0.1") != std::string::npos);
}

TEST_CASE("terminated connections are replaced") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  REQUIRE(alice.create_call(test::sample_call("CA1")));
  // Ends this store's server sessions only; other tests may run alongside.
  test::postgres_admin("SELECT pg_terminate_backend(pid) "
                       "FROM pg_stat_activity WHERE application_name = '"
                       + store.schema() + "'");
  auto listed = alice.list_calls({});
  REQUIRE(listed);
  CHECK(listed->calls.size() == 1);
  auto created = alice.create_call(test::sample_call("CA2"));
  REQUIRE(created);
}

TEST_CASE("concurrent opens migrate once") {
  test::test_store store;
  store.close();
  auto schema = "skyiq_test_" + sha256_hex(random_id()).substr(0, 16);
  test::postgres_admin("CREATE SCHEMA " + schema);
  database_options options;
  options.url = test::in_schema(test::postgres_url(), schema);
  std::vector<caf::expected<std::shared_ptr<database>>> opened(
    4, make_error(errc::internal, "not opened"));
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < opened.size(); ++i) {
    threads.emplace_back([&, i] { opened[i] = database::open(options); });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (const auto& db : opened) {
    REQUIRE(db);
  }
  auto rows = with_connection(
    (*opened[0])->pool(), "test query",
    [](sql_connection& c) -> caf::expected<std::vector<sql_row>> {
      return c.query("SELECT version FROM schema_migrations");
    });
  REQUIRE(rows);
  CHECK(rows->size() == std::size_t(latest_schema_version()));
  opened.clear();
  test::postgres_admin("DROP SCHEMA " + schema + " CASCADE");
}

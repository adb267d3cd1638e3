#include "test_support.hpp"

#include "storage/errors.hpp"
#include "storage/session_cache.hpp"
#include "storage/sql.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace skyiq;
using namespace skyiq::storage;

namespace {

constexpr const char* password = "correct horse battery";

user_store make_users(test::test_store& store,
                      std::chrono::seconds ttl = std::chrono::hours(1)) {
  return user_store(store.db(), test::cheap_argon2(), ttl);
}

std::vector<sql_row> select_rows(database& db, const std::string& sql) {
  auto rows = with_connection(
    db.pool(), "test query",
    [&](sql_connection& connection) -> caf::expected<std::vector<sql_row>> {
      return connection.query(sql);
    });
  REQUIRE(rows);
  return *rows;
}

} // namespace

TEST_CASE("signup returns a session") {
  test::test_store store;
  auto users = make_users(store);
  auto session = users.signup("alice@example.com", password);
  REQUIRE(session);
  CHECK(session->account_id.size() == 22);
  CHECK(session->token.size() == 43);
  auto account = users.authenticate(session->token);
  REQUIRE(account);
  CHECK(*account == session->account_id);
}

TEST_CASE("signup normalizes the email") {
  test::test_store store;
  auto users = make_users(store);
  auto session = users.signup("  Alice@Example.COM ", password);
  REQUIRE(session);
  auto login = users.login("alice@example.com", password);
  REQUIRE(login);
  CHECK(login->account_id == session->account_id);
  CHECK(login->token != session->token);
}

TEST_CASE("signup with a taken email fails") {
  test::test_store store;
  auto users = make_users(store);
  REQUIRE(users.signup("alice@example.com", password));
  auto again = users.signup("ALICE@example.com", "another password");
  REQUIRE_FALSE(again);
  CHECK(code_of(again.error()) == errc::email_taken);
}

TEST_CASE("signup validates email and password") {
  test::test_store store;
  auto users = make_users(store);
  for (auto email : {"", "alice", "@example.com", "alice@example",
                     "alice@@example.com", "al ice@example.com",
                     "alice@.com"}) {
    INFO("email " << email);
    auto result = users.signup(email, password);
    REQUIRE_FALSE(result);
    CHECK(code_of(result.error()) == errc::invalid_request);
    CHECK(message_of(result.error()).find("email") != std::string::npos);
  }
  for (const auto& bad : {std::string(7, 'x'), std::string(1025, 'x')}) {
    auto result = users.signup("bob@example.com", bad);
    REQUIRE_FALSE(result);
    CHECK(code_of(result.error()) == errc::invalid_request);
    CHECK(message_of(result.error()).find("password") != std::string::npos);
  }
  // Eight characters of two bytes each are long enough.
  CHECK(users.signup("carol@example.com", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));
}

TEST_CASE("login failures share one answer") {
  test::test_store store;
  auto users = make_users(store);
  REQUIRE(users.signup("alice@example.com", password));
  auto wrong_password = users.login("alice@example.com", "wrong password");
  auto unknown_email = users.login("nobody@example.com", password);
  REQUIRE_FALSE(wrong_password);
  REQUIRE_FALSE(unknown_email);
  CHECK(code_of(wrong_password.error()) == errc::invalid_credentials);
  CHECK(code_of(unknown_email.error()) == errc::invalid_credentials);
  CHECK(message_of(wrong_password.error())
        == message_of(unknown_email.error()));
}

TEST_CASE("logout ends the session") {
  test::test_store store;
  auto users = make_users(store);
  auto session = users.signup("alice@example.com", password);
  REQUIRE(session);
  auto other = users.login("alice@example.com", password);
  REQUIRE(other);
  REQUIRE(users.logout(session->token));
  auto after = users.authenticate(session->token);
  REQUIRE_FALSE(after);
  CHECK(code_of(after.error()) == errc::unauthorized);
  auto twice = users.logout(session->token);
  REQUIRE_FALSE(twice);
  CHECK(code_of(twice.error()) == errc::unauthorized);
  CHECK(users.authenticate(other->token));
}

TEST_CASE("logout ends a cached session at once") {
  test::test_store store;
  auto users = make_users(store);
  auto session = users.signup("alice@example.com", password);
  REQUIRE(session);
  REQUIRE(users.authenticate(session->token));
  REQUIRE(users.authenticate(session->token));
  REQUIRE(users.logout(session->token));
  auto after = users.authenticate(session->token);
  REQUIRE_FALSE(after);
  CHECK(code_of(after.error()) == errc::unauthorized);
}

TEST_CASE("session cache returns the session's account") {
  test::test_store store;
  auto users = make_users(store);
  auto alice = users.signup("alice@example.com", password);
  auto bob = users.signup("bob@example.com", password);
  REQUIRE(alice);
  REQUIRE(bob);
  for (int i = 0; i < 3; ++i) {
    auto first = users.authenticate(alice->token);
    auto second = users.authenticate(bob->token);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(*first == alice->account_id);
    CHECK(*second == bob->account_id);
  }
}

TEST_CASE("session cache entry ends with its ttl") {
  session_cache cache(std::chrono::milliseconds(1000), 10);
  auto generation = cache.begin_lookup();
  cache.store("hash", "account", 50000, generation, 10000);
  CHECK(cache.find("hash", 10999) == std::optional<std::string>("account"));
  CHECK_FALSE(cache.find("hash", 11000));
}

TEST_CASE("session cache entry ends with its session") {
  session_cache cache(std::chrono::milliseconds(1000), 10);
  auto generation = cache.begin_lookup();
  cache.store("hash", "account", 10500, generation, 10000);
  CHECK(cache.find("hash", 10499));
  CHECK_FALSE(cache.find("hash", 10500));
}

TEST_CASE("session cache skips a lookup older than an erase") {
  session_cache cache(std::chrono::milliseconds(1000), 10);
  auto generation = cache.begin_lookup();
  cache.erase("hash");
  cache.store("hash", "account", 50000, generation, 10000);
  CHECK_FALSE(cache.find("hash", 10001));
}

TEST_CASE("session cache stays within its size") {
  session_cache cache(std::chrono::milliseconds(1000), 2);
  for (const char* hash : {"a", "b", "c"}) {
    cache.store(hash, "account", 50000, cache.begin_lookup(), 10000);
  }
  CHECK(cache.find("c", 10001));
  CHECK_FALSE(cache.find("a", 10001));
}

TEST_CASE("expired session is rejected") {
  test::test_store store;
  auto short_lived = make_users(store, std::chrono::seconds(0));
  auto session = short_lived.signup("alice@example.com", password);
  REQUIRE(session);
  auto result = short_lived.authenticate(session->token);
  REQUIRE_FALSE(result);
  CHECK(code_of(result.error()) == errc::unauthorized);
  CHECK_FALSE(short_lived.logout(session->token));
}

TEST_CASE("unknown or malformed tokens are rejected") {
  test::test_store store;
  auto users = make_users(store);
  for (const auto& token :
       {random_token(), std::string(), std::string("short"),
        std::string(43, '!'), std::string(44, 'a')}) {
    auto result = users.authenticate(token);
    REQUIRE_FALSE(result);
    CHECK(code_of(result.error()) == errc::unauthorized);
  }
}

TEST_CASE("only token digests and Argon2id hashes are stored") {
  test::test_store store;
  auto users = make_users(store);
  auto session = users.signup("alice@example.com", password);
  REQUIRE(session);
  auto sessions = select_rows(*store.db(), "SELECT token_hash FROM sessions");
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0].text(0) == sha256_hex(session->token));
  auto accounts = select_rows(*store.db(),
                              "SELECT password_hash FROM accounts");
  REQUIRE(accounts.size() == 1);
  CHECK(accounts[0].text(0).rfind("$argon2id$", 0) == 0);
  CHECK(accounts[0].text(0).find(password) == std::string::npos);
}

TEST_CASE("user store serves many threads") {
  test::test_store store;
  auto users = make_users(store);
  auto session = users.signup("alice@example.com", password);
  REQUIRE(session);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto login = users.login("alice@example.com", password);
        auto seen = login ? users.authenticate(login->token)
                          : caf::expected<std::string>(login.error());
        if (!seen || *seen != session->account_id) {
          ++failures;
        }
        if (t % 2 == 0
            && !users.signup("user" + std::to_string(t * 10 + i)
                               + "@example.com",
                             password)) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(failures == 0);
}

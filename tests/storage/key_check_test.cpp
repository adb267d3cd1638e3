#include "test_support.hpp"

#include "storage/errors.hpp"
#include "storage/key_check.hpp"
#include "storage/sql.hpp"

#include <catch2/catch.hpp>

using namespace skyiq;
using namespace skyiq::storage;
using skyiq::storage::test::test_store;

namespace {

std::shared_ptr<const master_key> other_key() {
  auto key = master_key::from_hex(std::string(64, 'b'));
  REQUIRE(key);
  return *key;
}

std::optional<std::string> stored_fingerprint(database& db) {
  auto row = with_connection(
    db.pool(), "test query",
    [](sql_connection& c) -> caf::expected<std::optional<sql_row>> {
      return c.query_one("SELECT fingerprint FROM master_key_check");
    });
  REQUIRE(row);
  if (!*row) {
    return std::nullopt;
  }
  return (*row)->text(0);
}

// Makes the database look like one from before migration 4: no stored
// fingerprint.
void forget_fingerprint(database& db) {
  auto done = with_connection(db.pool(), "test statement",
                              [](sql_connection& c) -> caf::expected<void> {
                                c.execute("DELETE FROM master_key_check");
                                return caf::unit;
                              });
  REQUIRE(done);
}

} // namespace

TEST_CASE("first key stored, then accepted") {
  test_store store;
  auto db = store.db();
  CHECK_FALSE(stored_fingerprint(*db));
  CHECK_FALSE(check_master_key(*db, *store.key(), "var/master.key"));
  CHECK(stored_fingerprint(*db) == key_fingerprint(*store.key()));
  CHECK_FALSE(check_master_key(*db, *store.key(), "var/master.key"));
}

TEST_CASE("other key rejected, fingerprint kept") {
  test_store store;
  auto db = store.db();
  REQUIRE_FALSE(check_master_key(*db, *store.key(), "var/master.key"));
  const auto before = stored_fingerprint(*db);

  auto err = check_master_key(*db, *other_key(), "conf/stray.key");
  REQUIRE(err);
  CHECK(code_of(err) == errc::invalid_request);
  const auto message = message_of(err);
  CHECK(message.find("security.master_key_file 'conf/stray.key'")
        != std::string::npos);
  CHECK(message.find("same one") != std::string::npos);
  CHECK(stored_fingerprint(*db) == before);
  CHECK_FALSE(check_master_key(*db, *store.key(), "var/master.key"));
}

TEST_CASE("fingerprint is not the key") {
  const auto key = other_key();
  const auto fingerprint = key_fingerprint(*key);
  CHECK(fingerprint.size() == 64);
  CHECK(fingerprint != std::string(64, 'b'));
  CHECK(fingerprint == key_fingerprint(*other_key()));
  test_store store;
  CHECK(key_fingerprint(*store.key()) != fingerprint);
}

TEST_CASE("older database checks a sealed token") {
  test_store store;
  auto db = store.db();
  const auto id = store.new_account("owner@example.com");
  REQUIRE(store.store_for(id).save_setup({"AC1", "token-1"},
                                         {"+15550001111", "PN1", 0}));
  forget_fingerprint(*db);

  auto err = check_master_key(*db, *other_key(), "conf/stray.key");
  REQUIRE(err);
  CHECK(code_of(err) == errc::invalid_request);
  CHECK_FALSE(stored_fingerprint(*db));

  CHECK_FALSE(check_master_key(*db, *store.key(), "var/master.key"));
  CHECK(stored_fingerprint(*db) == key_fingerprint(*store.key()));
}

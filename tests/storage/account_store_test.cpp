#include "test_support.hpp"

#include "storage/errors.hpp"
#include "storage/number_directory.hpp"
#include "storage/sql.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace skyiq;
using namespace skyiq::storage;

namespace {

twilio_credentials credentials(const std::string& sid,
                               const std::string& token = "token-1") {
  return {sid, token};
}

claimed_number number(const std::string& e164,
                      const std::string& sid = "PN1") {
  return {e164, sid, 0};
}

void execute(database& db, const std::string& sql, const sql_params& params) {
  auto done = with_connection(db.pool(), "test statement",
                              [&](sql_connection& c) -> caf::expected<void> {
                                c.execute(sql, params);
                                return caf::unit;
                              });
  REQUIRE(done);
}

std::string sealed_token_of(database& db, const std::string& account_id) {
  auto row = with_connection(
    db.pool(), "test query",
    [&](sql_connection& c) -> caf::expected<std::optional<sql_row>> {
      return c.query_one("SELECT token_sealed FROM twilio_credentials "
                         "WHERE account_id = ?",
                         {account_id});
    });
  REQUIRE(row);
  REQUIRE(*row);
  return (*row)->text(0);
}

} // namespace

TEST_CASE("profile is empty before the first save") {
  test::test_store store;
  auto profile = store.store_for(store.new_account("a@example.com"))
                   .load_profile();
  REQUIRE(profile);
  CHECK_FALSE(profile->business_name);
  CHECK_FALSE(profile->greeting);
  CHECK_FALSE(profile->timezone);
  CHECK_FALSE(profile->hours);
  CHECK_FALSE(profile->forward_to);
}

TEST_CASE("profile save replaces the whole profile") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  auto bob = store.store_for(store.new_account("b@example.com"));
  business_profile profile;
  profile.business_name = "Alice's Bakery";
  profile.greeting = "Hello, \"friend\"";
  profile.forward_to = "+15550003333";
  REQUIRE(alice.save_profile(profile));
  profile.forward_to.reset();
  profile.timezone = "Europe/Berlin";
  REQUIRE(alice.save_profile(profile));
  auto loaded = alice.load_profile();
  REQUIRE(loaded);
  CHECK(loaded->business_name == profile.business_name);
  CHECK(loaded->greeting == profile.greeting);
  CHECK(loaded->timezone == profile.timezone);
  CHECK_FALSE(loaded->forward_to);
  auto other = bob.load_profile();
  REQUIRE(other);
  CHECK_FALSE(other->business_name);
}

TEST_CASE("setup claims a number and stores credentials") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  CHECK(alice.load_credentials().value() == std::nullopt);
  CHECK(alice.connected_account_sid().value() == std::nullopt);
  auto first = alice.save_setup(credentials("AC1"), number("+15550002222"));
  REQUIRE(first);
  CHECK(*first);
  auto loaded = alice.load_credentials();
  REQUIRE(loaded);
  REQUIRE(*loaded);
  CHECK((*loaded)->account_sid == "AC1");
  CHECK((*loaded)->auth_token == "token-1");
  CHECK(alice.connected_account_sid().value()
        == std::optional<std::string>("AC1"));
  auto sealed = sealed_token_of(*store.db(), alice.account_id());
  CHECK(sealed.find("token-1") == std::string::npos);
}

TEST_CASE("setup again rotates the token and keeps the claim") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  REQUIRE(alice.save_setup(credentials("AC1"), number("+15550002222")));
  auto again = alice.save_setup(credentials("AC1", "token-2"),
                                number("+15550002222", "PN2"));
  REQUIRE(again);
  CHECK_FALSE(*again);
  CHECK(alice.load_credentials().value()->auth_token == "token-2");
  auto numbers = alice.claimed_numbers();
  REQUIRE(numbers);
  REQUIRE(numbers->size() == 1);
  CHECK((*numbers)[0].phone_number_sid == "PN2");
  REQUIRE(alice.save_setup(credentials("AC1", "token-2"),
                           number("+15550004444", "PN3")));
  CHECK(alice.claimed_numbers()->size() == 2);
}

TEST_CASE("setup with another Account SID conflicts") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  REQUIRE(alice.save_setup(credentials("AC1"), number("+15550002222")));
  auto other = alice.save_setup(credentials("AC2"), number("+15550004444"));
  REQUIRE_FALSE(other);
  CHECK(code_of(other.error()) == errc::twilio_account_conflict);
  CHECK(alice.claimed_numbers()->size() == 1);
  CHECK(alice.connected_account_sid().value()
        == std::optional<std::string>("AC1"));
}

TEST_CASE("number claimed by another account is in use") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  auto bob = store.store_for(store.new_account("b@example.com"));
  REQUIRE(alice.save_setup(credentials("AC1"), number("+15550002222")));
  CHECK(bob.number_claimable("+15550002222").value() == false);
  CHECK(alice.number_claimable("+15550002222").value() == true);
  CHECK(bob.number_claimable("+15550009999").value() == true);
  auto claim = bob.save_setup(credentials("AC2"), number("+15550002222"));
  REQUIRE_FALSE(claim);
  CHECK(code_of(claim.error()) == errc::number_in_use);
  // The failed transaction stored no credentials for bob.
  CHECK(bob.load_credentials().value() == std::nullopt);
  CHECK(bob.claimed_numbers()->empty());
}

TEST_CASE("sealed token copied to another account fails") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  auto bob = store.store_for(store.new_account("b@example.com"));
  REQUIRE(alice.save_setup(credentials("AC1", "alice-secret"),
                           number("+15550002222")));
  REQUIRE(bob.save_setup(credentials("AC2", "bob-secret"),
                         number("+15550004444")));
  execute(*store.db(),
          "UPDATE twilio_credentials SET token_sealed = ? "
          "WHERE account_id = ?",
          {sealed_token_of(*store.db(), bob.account_id()), alice.account_id()});
  auto loaded = alice.load_credentials();
  REQUIRE_FALSE(loaded);
  CHECK(code_of(loaded.error()) == errc::internal);
  CHECK(message_of(loaded.error()).find("bob-secret") == std::string::npos);
  CHECK(message_of(loaded.error()).find("decrypt") != std::string::npos);
}

TEST_CASE("number directory finds exact owners only") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  REQUIRE(alice.save_setup(credentials("AC1"), number("+15550002222")));
  number_directory directory(store.db());
  for (int pass = 0; pass < 2; ++pass) {
    CHECK(directory.owner_of("+15550002222").value()
          == std::optional<std::string>(alice.account_id()));
  }
  CHECK(directory.owner_of("15550002222").value() == std::nullopt);
  CHECK(directory.owner_of("+1555000222").value() == std::nullopt);
  CHECK(directory.owner_of("+155500022222").value() == std::nullopt);
}

TEST_CASE("calls are created once per CallSid") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  auto created = alice.create_call(test::sample_call("CA1"));
  REQUIRE(created);
  CHECK(created->id.size() == 22);
  CHECK(created->created_at > 0);
  auto duplicate = alice.create_call(test::sample_call("CA1"));
  REQUIRE_FALSE(duplicate);
  CHECK(code_of(duplicate.error()) == errc::call_exists);
  auto found = alice.find_call_by_sid("CA1");
  REQUIRE(found);
  REQUIRE(*found);
  CHECK((*found)->id == created->id);
  CHECK((*found)->to == "+15550002222");
  auto bad = alice.create_call(test::sample_call("CA2", "initiated"));
  REQUIRE_FALSE(bad);
  CHECK(code_of(bad.error()) == errc::invalid_request);
}

TEST_CASE("call times keep millisecond precision") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  auto call = test::sample_call("CA1", "completed");
  call.created_at = 1712345678901;
  call.started_at = 1712345679999;
  call.ended_at = 1712345740001;
  call.duration_seconds = 60;
  REQUIRE(alice.create_call(call));
  auto found = alice.find_call_by_sid("CA1").value().value();
  CHECK(found.created_at == 1712345678901);
  CHECK(found.started_at == call.started_at);
  CHECK(found.ended_at == call.ended_at);
  CHECK(found.duration_seconds == call.duration_seconds);
}

TEST_CASE("accounts cannot see or delete each other's calls") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  auto bob = store.store_for(store.new_account("b@example.com"));
  auto bobs_call = bob.create_call(test::sample_call("CA1"));
  REQUIRE(bobs_call);
  // The same CallSid in another account is a separate record.
  REQUIRE(alice.create_call(test::sample_call("CA1")));
  CHECK(alice.find_call_by_sid("CA1").value()->id != bobs_call->id);
  auto deleted = alice.delete_call(bobs_call->id);
  REQUIRE_FALSE(deleted);
  CHECK(code_of(deleted.error()) == errc::not_found);
  auto missing = alice.delete_call("no-such-id");
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == errc::not_found);
  CHECK(message_of(missing.error()).find("not found") != std::string::npos);
  auto page = alice.list_calls({});
  REQUIRE(page);
  REQUIRE(page->calls.size() == 1);
  CHECK(page->calls[0].id != bobs_call->id);
  REQUIRE(bob.find_call_by_sid("CA1").value());
  REQUIRE(bob.delete_call(bobs_call->id));
  CHECK(bob.find_call_by_sid("CA1").value() == std::nullopt);
}

TEST_CASE("call pages follow created_at then id") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  auto bob = store.store_for(store.new_account("b@example.com"));
  std::vector<std::int64_t> times{1000, 3000, 1000, 2000, 1000, 2000, 3000};
  std::vector<call_record> expected;
  for (std::size_t i = 0; i < times.size(); ++i) {
    auto call = test::sample_call("CA" + std::to_string(i),
                                  i % 2 == 0 ? "completed" : "ringing");
    call.created_at = times[i];
    expected.push_back(alice.create_call(call).value());
    REQUIRE(bob.create_call(call));
  }

  std::sort(expected.begin(), expected.end(), [](auto& a, auto& b) {
    return std::tie(a.created_at, a.id) > std::tie(b.created_at, b.id);
  });

  std::vector<std::string> seen;
  call_query query;
  query.limit = 3;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = alice.list_calls(query);
    REQUIRE(page);
    CHECK(page->calls.size() <= 3);
    for (const auto& call : page->calls) {
      seen.push_back(call.id);
    }
    if (page->next_cursor.empty()) {
      break;
    }
    query.cursor = page->next_cursor;
  }

  REQUIRE(seen.size() == expected.size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i] == expected[i].id);
  }
}

TEST_CASE("call pages filter by status") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  for (int i = 0; i < 5; ++i) {
    REQUIRE(alice.create_call(
      test::sample_call("CA" + std::to_string(i),
                        i < 3 ? "completed" : "busy")));
  }
  call_query query;
  query.status = "completed";
  query.limit = 2;
  auto first = alice.list_calls(query);
  REQUIRE(first);
  CHECK(first->calls.size() == 2);
  REQUIRE_FALSE(first->next_cursor.empty());
  query.cursor = first->next_cursor;
  auto second = alice.list_calls(query);
  REQUIRE(second);
  REQUIRE(second->calls.size() == 1);
  CHECK(second->calls[0].status == "completed");
  CHECK(second->next_cursor.empty());
}

TEST_CASE("call list rejects bad queries") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  call_query query;
  for (auto cursor : {"!!", "Zm9v", "MTIzOg", "YWJjOmRlZg"}) {
    query.cursor = cursor;
    auto page = alice.list_calls(query);
    REQUIRE_FALSE(page);
    CHECK(code_of(page.error()) == errc::invalid_request);
    CHECK(message_of(page.error()).rfind("invalid cursor", 0) == 0);
  }
  query.cursor.clear();
  for (std::size_t limit : {std::size_t{0}, std::size_t{201}}) {
    query.limit = limit;
    auto page = alice.list_calls(query);
    REQUIRE_FALSE(page);
    CHECK(code_of(page.error()) == errc::invalid_request);
  }
  query.limit = 200;
  query.status = "initiated";
  CHECK_FALSE(alice.list_calls(query));
}

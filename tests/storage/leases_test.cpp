#include "test_support.hpp"

#include "storage/account_store.hpp"
#include "storage/call_writer.hpp"
#include "storage/errors.hpp"
#include "storage/lease_fence.hpp"
#include "storage/leases.hpp"
#include "storage/sql.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

using namespace skyiq;
using namespace skyiq::storage;
using namespace std::chrono_literals;

namespace {

// A clock that tests move by hand.
struct manual_clock {
  std::shared_ptr<std::atomic<timestamp_ms>> now =
    std::make_shared<std::atomic<timestamp_ms>>(1'000'000);

  clock_function function() const {
    return [now = now] { return now->load(); };
  }

  void advance(std::chrono::milliseconds by) {
    *now += by.count();
  }
};

std::vector<std::string> names_of(const std::vector<node_entry>& nodes) {
  std::vector<std::string> names;
  for (const auto& node : nodes) {
    names.push_back(node.name);
  }
  return names;
}

// Sets the greeting only while the `fence` condition is true. Returns the rows changed.
std::size_t fenced_greeting(database& db, const std::string& account_id,
                            const lease_fence& fence, timestamp_ms now,
                            const std::string& greeting) {
  sql_params params{greeting, account_id};
  append_fence_params(params, fence, now);
  auto changed = with_connection(
    db.pool(), "test fenced write",
    [&](sql_connection& c) -> caf::expected<std::size_t> {
      return c.execute(std::string("UPDATE business_profiles SET greeting = ?"
                                   " WHERE account_id = ? AND ") +
                         lease_fence_sql(),
                       params);
    });
  REQUIRE(changed);
  return *changed;
}

// Registers `name` whatever the age of an earlier row of that name: a
// claim with a TTL of zero.
bool register_node(const membership& nodes, const std::string& name,
                   const std::string& address) {
  auto claimed = nodes.claim_name(name, address, 0ms);
  return claimed && *claimed;
}

} // namespace

TEST_CASE("registered node is live until its heartbeat ages") {
  test::test_store store;
  manual_clock clock;
  membership nodes(store.db(), clock.function());
  REQUIRE(register_node(nodes, "node-a", "10.0.0.1:4000"));

  auto live = nodes.live_nodes(3s);
  REQUIRE(live);
  REQUIRE(live->size() == 1);
  CHECK(live->front().name == "node-a");
  CHECK(live->front().address == "10.0.0.1:4000");
  CHECK(live->front().heartbeat_at == *clock.now);

  clock.advance(3s);
  live = nodes.live_nodes(3s);
  REQUIRE(live);
  CHECK(live->empty());

  auto beat = nodes.heartbeat("node-a");
  REQUIRE(beat);
  CHECK(*beat);
  live = nodes.live_nodes(3s);
  REQUIRE(live);
  CHECK(live->size() == 1);
}

TEST_CASE("live node's name cannot be claimed") {
  test::test_store store;
  manual_clock clock;
  membership nodes(store.db(), clock.function());
  REQUIRE(nodes.claim_name("node-a", "h:1", 3s).value());
  CHECK_FALSE(nodes.claim_name("node-a", "h:2", 3s).value());
  auto live = nodes.live_nodes(3s);
  REQUIRE(live);
  REQUIRE(live->size() == 1);
  CHECK(live->front().address == "h:1");

  clock.advance(3s);
  CHECK(nodes.claim_name("node-a", "h:2", 3s).value());
  live = nodes.live_nodes(3s);
  REQUIRE(live);
  REQUIRE(live->size() == 1);
  CHECK(live->front().address == "h:2");
  CHECK(nodes.claim_name("node-b", "h:3", 3s).value());
}

TEST_CASE("heartbeat of an unknown node returns false") {
  test::test_store store;
  membership nodes(store.db());
  auto beat = nodes.heartbeat("node-x");
  REQUIRE(beat);
  CHECK_FALSE(*beat);
}

TEST_CASE("heartbeat never moves back") {
  test::test_store store;
  manual_clock ahead;
  manual_clock behind;
  *behind.now = *ahead.now - 5000;
  membership nodes(store.db(), ahead.function());
  membership late_nodes(store.db(), behind.function());
  REQUIRE(register_node(nodes, "node-a", "h:1"));
  REQUIRE(late_nodes.heartbeat("node-a"));
  auto live = nodes.live_nodes(1s);
  REQUIRE(live);
  REQUIRE(live->size() == 1);
  CHECK(live->front().heartbeat_at == *ahead.now);
}

TEST_CASE("registering again replaces the address") {
  test::test_store store;
  membership nodes(store.db());
  REQUIRE(register_node(nodes, "node-a", "h:1"));
  REQUIRE(register_node(nodes, "node-a", "h:2"));
  auto live = nodes.live_nodes(10s);
  REQUIRE(live);
  REQUIRE(live->size() == 1);
  CHECK(live->front().address == "h:2");
}

TEST_CASE("deregistered node is not live") {
  test::test_store store;
  membership nodes(store.db());
  REQUIRE(register_node(nodes, "node-a", "h:1"));
  auto removed = nodes.deregister("node-a");
  REQUIRE(removed);
  CHECK(*removed);
  removed = nodes.deregister("node-a");
  REQUIRE(removed);
  CHECK_FALSE(*removed);
  auto live = nodes.live_nodes(10s);
  REQUIRE(live);
  CHECK(live->empty());
}

TEST_CASE("live nodes are sorted by name bytes") {
  test::test_store store;
  membership nodes(store.db());
  for (const auto* name : {"node-b", "Node-z", "node-a"}) {
    REQUIRE(register_node(nodes, name, "h:1"));
  }
  auto live = nodes.live_nodes(10s);
  REQUIRE(live);
  CHECK(names_of(*live) ==
        std::vector<std::string>{"Node-z", "node-a", "node-b"});
}

TEST_CASE("node registration rejects empty values") {
  test::test_store store;
  membership nodes(store.db());
  auto no_name = nodes.claim_name("", "h:1", 0ms);
  REQUIRE_FALSE(no_name);
  CHECK(code_of(no_name.error()) == errc::invalid_request);
  auto no_address = nodes.claim_name("node-a", "", 0ms);
  REQUIRE_FALSE(no_address);
  CHECK(code_of(no_address.error()) == errc::invalid_request);
}

TEST_CASE("first lease of an account has epoch 1") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto account = store.new_account("a@example.com");
  auto got = leases.acquire(account, "node-a", 5s);
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->account_id == account);
  CHECK((*got)->owner_node == "node-a");
  CHECK((*got)->epoch == 1);
  CHECK((*got)->expires_at == *clock.now + 5000);
}

TEST_CASE("renewing a live lease keeps its epoch") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto account = store.new_account("a@example.com");
  REQUIRE(leases.acquire(account, "node-a", 5s));
  clock.advance(4s);
  auto renewed = leases.acquire(account, "node-a", 5s);
  REQUIRE(renewed);
  REQUIRE(*renewed);
  CHECK((*renewed)->epoch == 1);
  CHECK((*renewed)->expires_at == *clock.now + 5000);
}

TEST_CASE("live lease of another node is not taken") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto account = store.new_account("a@example.com");
  REQUIRE(leases.acquire(account, "node-a", 5s));
  clock.advance(4999ms);
  auto other = leases.acquire(account, "node-b", 5s);
  REQUIRE(other);
  CHECK_FALSE(*other);
  auto row = leases.find(account);
  REQUIRE(row);
  REQUIRE(*row);
  CHECK((*row)->owner_node == "node-a");
  CHECK((*row)->epoch == 1);
}

TEST_CASE("expired lease goes to another node with a new epoch") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto account = store.new_account("a@example.com");
  REQUIRE(leases.acquire(account, "node-a", 5s));
  clock.advance(5s);
  auto takeover = leases.acquire(account, "node-b", 5s);
  REQUIRE(takeover);
  REQUIRE(*takeover);
  CHECK((*takeover)->owner_node == "node-b");
  CHECK((*takeover)->epoch == 2);
  auto back = leases.acquire(account, "node-a", 5s);
  REQUIRE(back);
  CHECK_FALSE(*back);
}

TEST_CASE("own expired lease comes back with a new epoch") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto account = store.new_account("a@example.com");
  REQUIRE(leases.acquire(account, "node-a", 5s));
  clock.advance(6s);
  auto again = leases.acquire(account, "node-a", 5s);
  REQUIRE(again);
  REQUIRE(*again);
  CHECK((*again)->epoch == 2);
}

TEST_CASE("released lease is free at once") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto account = store.new_account("a@example.com");
  REQUIRE(leases.acquire(account, "node-a", 5s));

  auto stale = leases.release(account, "node-a", 2);
  REQUIRE(stale);
  CHECK_FALSE(*stale);
  auto other_node = leases.release(account, "node-b", 1);
  REQUIRE(other_node);
  CHECK_FALSE(*other_node);

  auto released = leases.release(account, "node-a", 1);
  REQUIRE(released);
  CHECK(*released);
  auto twice = leases.release(account, "node-a", 1);
  REQUIRE(twice);
  CHECK_FALSE(*twice);

  auto owned = leases.holds(account, "node-a", 1);
  REQUIRE(owned);
  CHECK_FALSE(*owned);
  auto takeover = leases.acquire(account, "node-b", 5s);
  REQUIRE(takeover);
  REQUIRE(*takeover);
  CHECK((*takeover)->epoch == 2);
}

TEST_CASE("holds checks owner, epoch and expiry") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto account = store.new_account("a@example.com");
  REQUIRE(leases.acquire(account, "node-a", 5s));
  CHECK(leases.holds(account, "node-a", 1).value());
  CHECK_FALSE(leases.holds(account, "node-a", 2).value());
  CHECK_FALSE(leases.holds(account, "node-b", 1).value());
  CHECK_FALSE(leases.holds("no-such-account", "node-a", 1).value());
  clock.advance(5s);
  CHECK_FALSE(leases.holds(account, "node-a", 1).value());
}

TEST_CASE("stale epoch is refused after takeover") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto account = store.new_account("a@example.com");
  business_profile profile;
  profile.greeting = "hello";
  REQUIRE(store.store_for(account).save_profile(profile));

  auto first = leases.acquire(account, "node-a", 5s);
  REQUIRE(first);
  REQUIRE(*first);
  const lease_fence old_fence{account, "node-a", (*first)->epoch};
  CHECK(fenced_greeting(*store.db(), account, old_fence, *clock.now,
                        "from node-a") == 1);

  clock.advance(5s);
  auto second = leases.acquire(account, "node-b", 5s);
  REQUIRE(second);
  REQUIRE(*second);
  const lease_fence new_fence{account, "node-b", (*second)->epoch};

  CHECK_FALSE(leases.holds(account, "node-a", old_fence.epoch).value());
  CHECK(leases.holds(account, "node-b", new_fence.epoch).value());
  CHECK(fenced_greeting(*store.db(), account, old_fence, *clock.now,
                        "late write from node-a") == 0);
  CHECK(fenced_greeting(*store.db(), account, new_fence, *clock.now,
                        "from node-b") == 1);
  auto stored = store.store_for(account).load_profile();
  REQUIRE(stored);
  CHECK(stored->greeting == std::optional<std::string>("from node-b"));
}

TEST_CASE("lease of an unknown account is not found") {
  test::test_store store;
  lease_table leases(store.db());
  auto got = leases.acquire("no-such-account", "node-a", 5s);
  REQUIRE_FALSE(got);
  CHECK(code_of(got.error()) == errc::not_found);
}

TEST_CASE("lease arguments are checked") {
  test::test_store store;
  lease_table leases(store.db());
  const auto account = store.new_account("a@example.com");
  auto no_account = leases.acquire("", "node-a", 5s);
  REQUIRE_FALSE(no_account);
  CHECK(code_of(no_account.error()) == errc::invalid_request);
  auto no_node = leases.acquire(account, "", 5s);
  REQUIRE_FALSE(no_node);
  CHECK(code_of(no_node.error()) == errc::invalid_request);
  auto no_ttl = leases.acquire(account, "node-a", 0ms);
  REQUIRE_FALSE(no_ttl);
  CHECK(code_of(no_ttl.error()) == errc::invalid_request);
}

TEST_CASE("two nodes racing for one lease: one wins") {
  test::test_store store;
  lease_table node_a(store.db());
  lease_table node_b(store.db());
  for (int round = 0; round < 20; ++round) {
    const auto account =
      store.new_account("race" + std::to_string(round) + "@example.com");
    std::atomic<int> ready{0};
    caf::expected<std::optional<lease>> got_a{std::nullopt};
    caf::expected<std::optional<lease>> got_b{std::nullopt};
    auto contend = [&](const lease_table& table, const char* node,
                       caf::expected<std::optional<lease>>& out) {
      ready++;
      while (ready.load() < 2) {
        std::this_thread::yield();
      }
      out = table.acquire(account, node, 60s);
    };
    std::thread a([&] { contend(node_a, "node-a", got_a); });
    std::thread b([&] { contend(node_b, "node-b", got_b); });
    a.join();
    b.join();

    INFO("round " << round);
    REQUIRE(got_a);
    REQUIRE(got_b);
    REQUIRE(got_a->has_value() != got_b->has_value());
    const auto& winner = got_a->has_value() ? **got_a : **got_b;
    CHECK(winner.epoch == 1);
    auto row = node_a.find(account);
    REQUIRE(row);
    REQUIRE(*row);
    CHECK((*row)->owner_node == winner.owner_node);
  }
}

namespace {

call_record inbound_call(const std::string& call_sid) {
  call_record call;
  call.call_sid = call_sid;
  call.from = "+14155550100";
  call.to = "+14155550199";
  call.direction = "inbound";
  call.status = "ringing";
  return call;
}

// Returns lease_node and lease_epoch of the call `call_sid`, "-" and -1
// where they are NULL.
std::pair<std::string, std::int64_t> lease_columns(database& db,
                                                   const std::string& sid) {
  auto row = with_connection(
    db.pool(), "test lease columns",
    [&](sql_connection& c) -> caf::expected<std::optional<sql_row>> {
      return c.query_one("SELECT COALESCE(lease_node, '-'),"
                         " COALESCE(lease_epoch, -1) FROM calls"
                         " WHERE call_sid = ?",
                         {sid});
    });
  REQUIRE(row);
  REQUIRE(*row);
  return {(*row)->text(0), (*row)->integer(1)};
}

// Moves `account`'s lease from node-a to node-b and returns node-b's fence.
lease_fence hand_over(const lease_table& leases, const std::string& account,
                      const lease_fence& old_fence) {
  REQUIRE(leases.release(account, old_fence.node, old_fence.epoch).value());
  auto taken = leases.acquire(account, "node-b", 60s);
  REQUIRE(taken);
  REQUIRE(*taken);
  return {account, "node-b", (*taken)->epoch};
}

} // namespace

TEST_CASE("fenced store writes stop when the lease moves") {
  test::test_store store;
  lease_table leases(store.db());
  const auto account = store.new_account("a@example.com");
  auto held = leases.acquire(account, "node-a", 60s);
  REQUIRE(held);
  REQUIRE(*held);
  const lease_fence fence_a{account, "node-a", (*held)->epoch};
  account_store node_a(store.db(), store.key(), account, fence_a);

  business_profile profile;
  profile.greeting = "from node-a";
  REQUIRE(node_a.save_profile(profile));
  auto created = node_a.create_call(inbound_call("CA01"));
  REQUIRE(created);
  CHECK(lease_columns(*store.db(), "CA01") ==
        std::make_pair(std::string("node-a"), fence_a.epoch));

  const auto fence_b = hand_over(leases, account, fence_a);
  account_store node_b(store.db(), store.key(), account, fence_b);

  profile.greeting = "late write from node-a";
  auto late_profile = node_a.save_profile(profile);
  REQUIRE_FALSE(late_profile);
  CHECK(code_of(late_profile.error()) == errc::unavailable);
  auto late_call = node_a.create_call(inbound_call("CA02"));
  REQUIRE_FALSE(late_call);
  CHECK(code_of(late_call.error()) == errc::unavailable);
  auto late_delete = node_a.delete_call(created->id);
  REQUIRE_FALSE(late_delete);
  CHECK(code_of(late_delete.error()) == errc::unavailable);
  auto late_setup = node_a.save_setup({"AC" + std::string(32, '1'), "token"},
                                      {"+14155550199", "PN1", 0});
  REQUIRE_FALSE(late_setup);
  CHECK(code_of(late_setup.error()) == errc::unavailable);

  CHECK(node_b.load_profile()->greeting ==
        std::optional<std::string>("from node-a"));
  CHECK(node_b.list_calls({})->calls.size() == 1);
  profile.greeting = "from node-b";
  CHECK(node_b.save_profile(profile));
  CHECK(node_b.create_call(inbound_call("CA03")));
  CHECK(lease_columns(*store.db(), "CA03") ==
        std::make_pair(std::string("node-b"), fence_b.epoch));
}

TEST_CASE("group commit refuses items of a lost lease") {
  test::test_store store;
  lease_table leases(store.db());
  const auto moved = store.new_account("a@example.com");
  const auto kept = store.new_account("b@example.com");
  const auto single = store.new_account("c@example.com");
  auto moved_lease = leases.acquire(moved, "node-a", 60s);
  auto kept_lease = leases.acquire(kept, "node-a", 60s);
  REQUIRE(moved_lease);
  REQUIRE(*moved_lease);
  REQUIRE(kept_lease);
  REQUIRE(*kept_lease);
  const lease_fence moved_fence{moved, "node-a", (*moved_lease)->epoch};
  const lease_fence kept_fence{kept, "node-a", (*kept_lease)->epoch};
  account_store moved_store(store.db(), store.key(), moved, moved_fence);
  account_store kept_store(store.db(), store.key(), kept, kept_fence);
  account_store single_store(store.db(), store.key(), single);
  hand_over(leases, moved, moved_fence);

  call_writer writer(store.db());
  auto results = writer.commit({
    kept_store.prepare_webhook_call(inbound_call("CA11")),
    moved_store.prepare_webhook_call(inbound_call("CA12")),
    kept_store.prepare_webhook_call(inbound_call("CA13")),
    single_store.prepare_webhook_call(inbound_call("CA14")),
  });

  REQUIRE(results.size() == 4);
  CHECK(results[0]);
  REQUIRE_FALSE(results[1]);
  CHECK(code_of(results[1].error()) == errc::unavailable);
  CHECK(results[2]);
  CHECK(results[3]);
  CHECK(moved_store.list_calls({})->calls.empty());
  CHECK(kept_store.list_calls({})->calls.size() == 2);
  CHECK(lease_columns(*store.db(), "CA13") ==
        std::make_pair(std::string("node-a"), kept_fence.epoch));
  CHECK(lease_columns(*store.db(), "CA14") ==
        std::make_pair(std::string("-"), std::int64_t{-1}));
}

TEST_CASE("renewing all leases skips expired ones") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto expired = store.new_account("a@example.com");
  const auto live = store.new_account("b@example.com");
  const auto other = store.new_account("c@example.com");
  REQUIRE(leases.acquire(expired, "node-a", 5s).value());
  REQUIRE(leases.acquire(other, "node-b", 60s).value());
  clock.advance(3s);
  REQUIRE(leases.acquire(live, "node-a", 5s).value());
  clock.advance(3s);

  auto renewed = leases.renew_all("node-a", 5s);
  REQUIRE(renewed);
  REQUIRE(renewed->size() == 1);
  CHECK(renewed->front().account_id == live);
  CHECK(renewed->front().epoch == 1);
  CHECK(renewed->front().expires_at == *clock.now + 5000);
  CHECK(leases.find(live).value()->expires_at == *clock.now + 5000);
  CHECK(leases.find(expired).value()->expires_at < *clock.now);
}

TEST_CASE("releasing all leases frees them at once") {
  test::test_store store;
  manual_clock clock;
  lease_table leases(store.db(), clock.function());
  const auto first = store.new_account("a@example.com");
  const auto second = store.new_account("b@example.com");
  REQUIRE(leases.acquire(first, "node-a", 60s).value());
  REQUIRE(leases.acquire(second, "node-a", 60s).value());

  auto released = leases.release_all("node-a");
  REQUIRE(released);
  CHECK(*released == 2);
  CHECK(leases.release_all("node-a").value() == 0);
  auto taken = leases.acquire(first, "node-b", 60s);
  REQUIRE(taken);
  REQUIRE(*taken);
  CHECK((*taken)->epoch == 2);
}

TEST_CASE("lease renewal does not wait for fenced writes") {
  if (!test::testing_postgres()) {
    // SQLite runs one write transaction at a time, and clustered nodes
    // run on PostgreSQL only.
    return;
  }
  test::test_store store;
  lease_table leases(store.db());
  const auto account = store.new_account("a@example.com");
  auto held = leases.acquire(account, "node-a", 60s);
  REQUIRE(held);
  REQUIRE(*held);
  const lease_fence fence{account, "node-a", (*held)->epoch};

  auto written = with_transaction(
    store.db()->pool(), "test fenced write",
    [&](sql_connection& connection) -> caf::expected<void> {
      REQUIRE_FALSE(check_fence(connection, fence));
      auto renewal = std::async(std::launch::async, [&] {
        return leases.renew_all("node-a", 60s);
      });
      REQUIRE(renewal.wait_for(5s) == std::future_status::ready);
      auto renewed = renewal.get();
      REQUIRE(renewed);
      CHECK(renewed->size() == 1);
      return caf::unit;
    });
  CHECK(written);
}

TEST_CASE("takeover waits for fenced writes") {
  if (!test::testing_postgres()) {
    // SQLite runs one write transaction at a time, and clustered nodes
    // run on PostgreSQL only.
    return;
  }
  test::test_store store;
  lease_table leases(store.db());
  const auto account = store.new_account("a@example.com");
  auto held = leases.acquire(account, "node-a", 300ms);
  REQUIRE(held);
  REQUIRE(*held);
  const lease_fence fence{account, "node-a", (*held)->epoch};

  std::future<caf::expected<std::optional<lease>>> takeover;
  auto written = with_transaction(
    store.db()->pool(), "test fenced write",
    [&](sql_connection& connection) -> caf::expected<void> {
      REQUIRE_FALSE(check_fence(connection, fence));
      takeover = std::async(std::launch::async, [&] {
        std::this_thread::sleep_for(400ms);
        return leases.acquire(account, "node-b", 60s);
      });
      // The lease has expired by now, but the takeover waits for this
      // transaction.
      CHECK(takeover.wait_for(1500ms) == std::future_status::timeout);
      return caf::unit;
    });
  REQUIRE(written);
  REQUIRE(takeover.wait_for(5s) == std::future_status::ready);
  auto taken = takeover.get();
  REQUIRE(taken);
  REQUIRE(*taken);
  CHECK((*taken)->owner_node == "node-b");
  CHECK((*taken)->epoch == 2);
}

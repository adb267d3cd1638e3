#include "test_support.hpp"

#include "storage/errors.hpp"
#include "storage/lease_fence.hpp"
#include "storage/leases.hpp"
#include "storage/sql.hpp"

#include <catch2/catch.hpp>

#include <atomic>
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

} // namespace

TEST_CASE("registered node is live until its heartbeat ages") {
  test::test_store store;
  manual_clock clock;
  membership nodes(store.db(), clock.function());
  REQUIRE(nodes.register_node("node-a", "10.0.0.1:4000"));

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
  REQUIRE(nodes.register_node("node-a", "h:1"));
  REQUIRE(late_nodes.heartbeat("node-a"));
  auto live = nodes.live_nodes(1s);
  REQUIRE(live);
  REQUIRE(live->size() == 1);
  CHECK(live->front().heartbeat_at == *ahead.now);
}

TEST_CASE("registering again replaces the address") {
  test::test_store store;
  membership nodes(store.db());
  REQUIRE(nodes.register_node("node-a", "h:1"));
  REQUIRE(nodes.register_node("node-a", "h:2"));
  auto live = nodes.live_nodes(10s);
  REQUIRE(live);
  REQUIRE(live->size() == 1);
  CHECK(live->front().address == "h:2");
}

TEST_CASE("deregistered node is not live") {
  test::test_store store;
  membership nodes(store.db());
  REQUIRE(nodes.register_node("node-a", "h:1"));
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
    REQUIRE(nodes.register_node(name, "h:1"));
  }
  auto live = nodes.live_nodes(10s);
  REQUIRE(live);
  CHECK(names_of(*live) ==
        std::vector<std::string>{"Node-z", "node-a", "node-b"});
}

TEST_CASE("node registration rejects empty values") {
  test::test_store store;
  membership nodes(store.db());
  auto no_name = nodes.register_node("", "h:1");
  REQUIRE_FALSE(no_name);
  CHECK(code_of(no_name.error()) == errc::invalid_request);
  auto no_address = nodes.register_node("node-a", "");
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

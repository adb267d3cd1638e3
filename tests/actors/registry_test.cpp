#include "actors/node.hpp"

#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/errors.hpp"
#include "storage/leases.hpp"
#include "storage/user_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

using namespace skyiq;
using namespace std::chrono_literals;

namespace {

struct node_fixture {
  explicit node_fixture(std::chrono::milliseconds idle) {
    dir = std::filesystem::temp_directory_path() /
          ("registry-test-" + storage::random_id());
    std::filesystem::create_directories(dir);
    db = *storage::database::open({"sqlite:" + (dir / "db").string(), 2});
    key = *storage::master_key::load_or_create((dir / "key").string());
    storage::user_store users(db, {64, 1, 1}, std::chrono::seconds(60));
    first = users.signup("one@example.com", "long enough")->account_id;
    second = users.signup("two@example.com", "long enough")->account_id;
    settings.actors_idle_timeout = idle;
    settings.twilio_api_base_url = "http://127.0.0.1:9";
  }
  ~node_fixture() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::shared_ptr<storage::database> db;
  std::shared_ptr<const storage::master_key> key;
  std::string first;
  std::string second;
  config::settings settings;
};

// Returns the hooks of a clustered node on `view`, and gives the node
// short leases.
actors::node_hooks clustered(node_fixture& fx,
                             std::shared_ptr<actors::cluster_view> view) {
  fx.settings.cluster_node_name = view->self();
  fx.settings.cluster_lease_ttl = 1200ms;
  fx.settings.cluster_heartbeat_interval = 400ms;
  actors::node_hooks hooks;
  hooks.cluster = std::move(view);
  return hooks;
}

caf::expected<storage::business_profile>
update_greeting(actors::node& node, const std::string& account,
                const std::string& greeting) {
  actors::profile_patch patch;
  patch.greeting = std::optional<std::string>(greeting);
  return node.requests()->ask_account<storage::business_profile>(
      node.registry(), account, 5000ms, actors::update_atom_v, patch);
}

std::size_t live_accounts(actors::node& node) {
  auto count = node.requests()->ask<std::size_t>(node.registry(), 2000ms,
                                                 actors::count_atom_v);
  REQUIRE(count);
  return *count;
}

} // namespace

TEST_CASE("registry activates accounts lazily, once each") {
  node_fixture fx(10min);
  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, {});
    CHECK(live_accounts(node) == 0);
    std::vector<std::thread> callers;
    for (int i = 0; i < 8; ++i) {
      callers.emplace_back([&] {
        auto profile = node.requests()->ask_account<storage::business_profile>(
            node.registry(), fx.first, 2000ms, actors::profile_atom_v);
        CHECK(profile);
      });
    }
    for (auto& t : callers) {
      t.join();
    }
    CHECK(live_accounts(node) == 1);
    auto other = node.requests()->ask_account<storage::business_profile>(
        node.registry(), fx.second, 2000ms, actors::profile_atom_v);
    CHECK(other);
    CHECK(live_accounts(node) == 2);
    node.stop();
  }
  system.await_all_actors_done();
}

TEST_CASE("idle account actors exit and come back on demand") {
  node_fixture fx(100ms);
  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, {});
    auto first = node.requests()->ask_account<storage::business_profile>(
        node.registry(), fx.first, 2000ms, actors::profile_atom_v);
    REQUIRE(first);
    CHECK(live_accounts(node) == 1);
    std::this_thread::sleep_for(400ms);
    CHECK(live_accounts(node) == 0);
    auto again = node.requests()->ask_account<storage::business_profile>(
        node.registry(), fx.first, 2000ms, actors::profile_atom_v);
    CHECK(again);
    CHECK(live_accounts(node) == 1);
    node.stop();
  }
  system.await_all_actors_done();
}

TEST_CASE("account actors reject webhooks before setup") {
  node_fixture fx(10min);
  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, {});
    actors::twilio_request request;
    request.url = "https://gateway.test/api/twilio/webhook";
    request.params = {{"CallSid", "CA0123456789abcdef0123456789abcdef"}};
    request.signature = "AAAA";
    auto answer = node.requests()->ask_account<std::string>(
        node.registry(), fx.first, 2000ms, actors::voice_atom_v, request);
    REQUIRE_FALSE(answer);
    CHECK(code_of(answer.error()) == errc::signature_invalid);
    node.stop();
  }
  system.await_all_actors_done();
}

TEST_CASE("clustered registry serves under a lease") {
  node_fixture fx(10min);
  auto view = std::make_shared<actors::cluster_view>("gw-1");
  auto hooks = clustered(fx, view);
  storage::lease_table leases(fx.db);
  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, hooks);
    CHECK(update_greeting(node, fx.first, "hello"));
    auto held = leases.find(fx.first);
    REQUIRE(held);
    REQUIRE(*held);
    CHECK((*held)->owner_node == "gw-1");
    CHECK((*held)->epoch == 1);
    node.stop();
  }
  system.await_all_actors_done();
}

TEST_CASE("late write after a takeover is refused") {
  node_fixture fx(10min);
  auto view = std::make_shared<actors::cluster_view>("gw-1");
  auto hooks = clustered(fx, view);
  storage::lease_table leases(fx.db);
  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, hooks);
    REQUIRE(update_greeting(node, fx.first, "before"));
    REQUIRE(leases.release(fx.first, "gw-1", 1).value());
    REQUIRE(leases.acquire(fx.first, "gw-2", 60s).value());

    auto late = update_greeting(node, fx.first, "late");
    REQUIRE_FALSE(late);
    CHECK(code_of(late.error()) == errc::unavailable);
    storage::account_store store(fx.db, fx.key, fx.first);
    CHECK(store.load_profile()->greeting ==
          std::optional<std::string>("before"));
    node.stop();
  }
  system.await_all_actors_done();
}

TEST_CASE("account leased elsewhere fails after the wait") {
  node_fixture fx(10min);
  auto view = std::make_shared<actors::cluster_view>("gw-1");
  auto hooks = clustered(fx, view);
  storage::lease_table leases(fx.db);
  REQUIRE(leases.acquire(fx.first, "gw-2", 60s).value());
  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, hooks);
    auto profile = node.requests()->ask_account<storage::business_profile>(
        node.registry(), fx.first, 5000ms, actors::profile_atom_v);
    REQUIRE_FALSE(profile);
    CHECK(code_of(profile.error()) == errc::unavailable);
    CHECK(live_accounts(node) == 0);
    node.stop();
  }
  system.await_all_actors_done();
}

TEST_CASE("expired lease of another node is taken over") {
  node_fixture fx(10min);
  auto view = std::make_shared<actors::cluster_view>("gw-1");
  auto hooks = clustered(fx, view);
  storage::lease_table leases(fx.db);
  REQUIRE(leases.acquire(fx.first, "gw-2", 300ms).value());
  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, hooks);
    CHECK(update_greeting(node, fx.first, "taken over"));
    auto held = leases.find(fx.first);
    REQUIRE(held);
    REQUIRE(*held);
    CHECK((*held)->owner_node == "gw-1");
    CHECK((*held)->epoch == 2);
    node.stop();
  }
  system.await_all_actors_done();
}

TEST_CASE("reconcile stops lost and moved accounts") {
  node_fixture fx(10min);
  auto view = std::make_shared<actors::cluster_view>("gw-1");
  auto hooks = clustered(fx, view);
  storage::lease_table leases(fx.db);

  // Accounts that gw-1 keeps and loses once gw-2 joins.
  auto peer = std::make_shared<actors::peer_link>();
  peer->name = "gw-2";
  actors::cluster_view joined("gw-1");
  joined.set_members({"gw-1", "gw-2"});
  joined.add_peer(peer);
  storage::user_store users(fx.db, {64, 1, 1}, std::chrono::seconds(60));
  std::string kept;
  std::string moved;
  for (int i = 0; i < 64 && (kept.empty() || moved.empty()); ++i) {
    auto id = users.signup("n" + std::to_string(i) + "@example.com",
                           "long enough")
                  ->account_id;
    (joined.owns(id) ? kept : moved) = id;
  }
  REQUIRE_FALSE(kept.empty());
  REQUIRE_FALSE(moved.empty());

  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, hooks);
    REQUIRE(update_greeting(node, kept, "kept"));
    REQUIRE(update_greeting(node, moved, "moved"));
    REQUIRE(live_accounts(node) == 2);
    // A renewal in the same millisecond as an activation does not count
    // for it, so this one starts strictly later.
    std::this_thread::sleep_for(5ms);
    const auto renewed_at = storage::now_ms();
    auto held = leases.renew_all("gw-1", 60s);
    REQUIRE(held);
    REQUIRE(held->size() == 2);

    // gw-2 joins, and the kept account's lease is lost meanwhile.
    view->set_members({"gw-1", "gw-2"});
    view->add_peer(peer);
    std::vector<storage::lease> still_held;
    for (const auto& item : *held) {
      if (item.account_id == moved) {
        still_held.push_back(item);
      }
    }
    auto release = node.requests()->ask<std::vector<storage::lease>>(
        node.registry(), 2000ms, actors::reconcile_atom_v, still_held,
        renewed_at);
    REQUIRE(release);
    REQUIRE(release->size() == 1);
    CHECK(release->front().account_id == moved);
    CHECK(release->front().epoch == 1);
    CHECK(live_accounts(node) == 0);
    node.stop();
  }
  system.await_all_actors_done();
}

TEST_CASE("reconcile keeps accounts newer than the renewal") {
  node_fixture fx(10min);
  auto view = std::make_shared<actors::cluster_view>("gw-1");
  auto hooks = clustered(fx, view);
  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, hooks);
    const auto renewed_at = storage::now_ms() - 1;
    REQUIRE(update_greeting(node, fx.first, "new"));

    // The renewal read the lease table before this lease existed.
    auto release = node.requests()->ask<std::vector<storage::lease>>(
        node.registry(), 2000ms, actors::reconcile_atom_v,
        std::vector<storage::lease>{}, renewed_at);
    REQUIRE(release);
    CHECK(release->empty());
    CHECK(live_accounts(node) == 1);
    CHECK(update_greeting(node, fx.first, "still served"));
    node.stop();
  }
  system.await_all_actors_done();
}

TEST_CASE("node past its lease renewals serves nothing") {
  node_fixture fx(10min);
  auto view = std::make_shared<actors::cluster_view>("gw-1");
  auto hooks = clustered(fx, view);
  caf::actor_system_config config;
  caf::actor_system system(config);
  {
    actors::node node(system, fx.settings, fx.db, fx.key, hooks);
    REQUIRE(update_greeting(node, fx.first, "served"));

    // The keeper's last renewal covered the leases until a moment ago,
    // as after the process was stopped for longer than the lease TTL.
    view->set_leases_valid_until(storage::now_ms() - 1);
    auto profile = node.requests()->ask_account<storage::business_profile>(
        node.registry(), fx.first, 2000ms, actors::profile_atom_v);
    REQUIRE_FALSE(profile);
    CHECK(code_of(profile.error()) == errc::unavailable);

    view->set_leases_valid_until(storage::now_ms() + 60000);
    CHECK(node.requests()->ask_account<storage::business_profile>(
        node.registry(), fx.first, 2000ms, actors::profile_atom_v));
    node.stop();
  }
  system.await_all_actors_done();
}

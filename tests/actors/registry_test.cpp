#include "actors/node.hpp"

#include "storage/crypto.hpp"
#include "storage/database.hpp"
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

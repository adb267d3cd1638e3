#include "actors/writer.hpp"

#include "storage/account_store.hpp"
#include "storage/call_writer.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/user_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

using namespace skyiq;

namespace {

struct store_fixture {
  store_fixture() {
    dir = std::filesystem::temp_directory_path() /
          ("writer-test-" + storage::random_id());
    std::filesystem::create_directories(dir);
    db = *storage::database::open({"sqlite:" + (dir / "db").string(), 2});
    key = *storage::master_key::load_or_create((dir / "key").string());
    storage::user_store users(db, {64, 1, 1}, std::chrono::seconds(60));
    account_id = users.signup("w@example.com", "long enough")->account_id;
  }
  ~store_fixture() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::shared_ptr<storage::database> db;
  std::shared_ptr<const storage::master_key> key;
  std::string account_id;
};

storage::call_record call(const std::string& sid) {
  storage::call_record record;
  record.call_sid = sid;
  record.from = "+14155550100";
  record.to = "+14155550101";
  record.direction = "inbound";
  record.status = "ringing";
  return record;
}

} // namespace

TEST_CASE("writer commits concurrent writes in batches and stops") {
  store_fixture fx;
  storage::account_store store(fx.db, fx.key, fx.account_id);
  std::atomic<std::size_t> batches{0};
  std::atomic<std::size_t> written{0};
  {
    caf::actor_system_config config;
    caf::actor_system system(config);
    auto writer = actors::spawn_writer(
        system, std::make_shared<storage::call_writer>(fx.db), 64,
        [&](std::size_t n) {
          ++batches;
          written += n;
        });
    {
      caf::scoped_actor self(system);
      for (int i = 0; i < 100; ++i) {
        char sid[40];
        std::snprintf(sid, sizeof(sid), "CA%032d", i);
        self->send(writer, actors::write_atom_v,
                   store.prepare_webhook_call(call(sid)));
      }
      std::size_t replies = 0;
      for (int i = 0; i < 100; ++i) {
        self->receive([&](storage::call_record&) { ++replies; },
                      [&](caf::error&) {});
      }
      CHECK(replies == 100);
    }
    caf::anon_send(caf::actor_cast<caf::actor>(writer), actors::stop_atom_v);
    auto done =
        std::async(std::launch::async, [&] { system.await_all_actors_done(); });
    // The blocking writer must leave its loop after stop.
    CHECK(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  }
  CHECK(written == 100);
  CHECK(batches < 100);
  storage::call_query query;
  query.limit = 200;
  CHECK(store.list_calls(query)->calls.size() == 100);
}

#include "test_support.hpp"

#include "storage/call_writer.hpp"
#include "storage/errors.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace skyiq;
using namespace skyiq::storage;

namespace {

status_update status_event(const std::string& call_sid,
                           const std::string& status,
                           std::optional<std::int64_t> sequence,
                           timestamp_ms event_time = 1000) {
  status_update update;
  update.call_sid = call_sid;
  update.status = status;
  update.from = "+15550001111";
  update.to = "+15550002222";
  update.direction = "inbound";
  update.sequence_number = sequence;
  update.event_time = event_time;
  return update;
}

call_record commit_one(call_writer& writer, const call_write& write) {
  auto results = writer.commit({write});
  REQUIRE(results.size() == 1);
  if (!results[0]) {
    FAIL("commit failed: " << message_of(results[0].error()));
  }
  return *results[0];
}

} // namespace

TEST_CASE("group commit applies mixed items") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  auto bob = store.store_for(store.new_account("b@example.com"));
  call_writer writer(store.db());
  auto results = writer.commit({
    alice.prepare_webhook_call(test::sample_call("CA1")),
    alice.prepare_status(status_event("CA2", "in-progress", 1)),
    bob.prepare_webhook_call(test::sample_call("CA3")),
    alice.prepare_status(status_event("CA1", "in-progress", 2, 2000)),
  });
  REQUIRE(results.size() == 4);
  for (const auto& result : results) {
    REQUIRE(result);
  }
  CHECK(results[0]->status == "ringing");
  CHECK(results[3]->id == results[0]->id);
  CHECK(results[3]->status == "in-progress");
  CHECK(results[3]->started_at == std::optional<timestamp_ms>(2000));
  CHECK(alice.find_call_by_sid("CA1").value()->status == "in-progress");
  CHECK(alice.find_call_by_sid("CA2").value()->last_sequence == 1);
  CHECK(bob.find_call_by_sid("CA3").value());
  CHECK(alice.find_call_by_sid("CA3").value() == std::nullopt);
}

TEST_CASE("duplicate CallSid gives one record") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  call_writer writer(store.db());
  auto results = writer.commit({
    alice.prepare_webhook_call(test::sample_call("CA1")),
    alice.prepare_webhook_call(test::sample_call("CA1", "queued")),
  });
  REQUIRE(results[0]);
  REQUIRE(results[1]);
  CHECK(results[1]->id == results[0]->id);
  CHECK(results[1]->status == "ringing");
  auto later = commit_one(writer,
                          alice.prepare_webhook_call(test::sample_call("CA1")));
  CHECK(later.id == results[0]->id);
  CHECK(alice.list_calls({}).value().calls.size() == 1);
}

TEST_CASE("status updates follow SequenceNumber") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  call_writer writer(store.db());
  commit_one(writer, alice.prepare_webhook_call(test::sample_call("CA1")));
  auto answered = commit_one(
    writer, alice.prepare_status(status_event("CA1", "in-progress", 2, 2000)));
  CHECK(answered.status == "in-progress");
  auto late = commit_one(
    writer, alice.prepare_status(status_event("CA1", "ringing", 1, 1500)));
  CHECK(late.status == "in-progress");
  CHECK(late.last_sequence == 2);
  auto done_event = status_event("CA1", "completed", 3, 62000);
  done_event.duration_seconds = 60;
  auto done = commit_one(writer, alice.prepare_status(done_event));
  CHECK(done.status == "completed");
  CHECK(done.started_at == std::optional<timestamp_ms>(2000));
  CHECK(done.ended_at == std::optional<timestamp_ms>(62000));
  CHECK(done.duration_seconds == std::optional<std::int64_t>(60));
  auto after_final = commit_one(
    writer, alice.prepare_status(status_event("CA1", "ringing", 4, 63000)));
  CHECK(after_final.status == "completed");
  auto stored = alice.find_call_by_sid("CA1").value().value();
  CHECK(stored.status == "completed");
  CHECK(stored.last_sequence == 3);
}

TEST_CASE("final status without SequenceNumber wins") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  call_writer writer(store.db());
  commit_one(writer,
             alice.prepare_status(status_event("CA1", "in-progress", 1)));
  auto final_event = status_event("CA1", "no-answer", {}, 9000);
  auto ended = commit_one(writer, alice.prepare_status(final_event));
  CHECK(ended.status == "no-answer");
  CHECK(ended.ended_at == std::optional<timestamp_ms>(9000));
  auto stale = commit_one(
    writer, alice.prepare_status(status_event("CA1", "in-progress", {})));
  CHECK(stale.status == "no-answer");
}

TEST_CASE("status before webhook creates the record") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  call_writer writer(store.db());
  auto first = commit_one(
    writer, alice.prepare_status(status_event("CA1", "completed", {})));
  CHECK(first.status == "completed");
  CHECK(first.to == "+15550002222");
  auto webhook = commit_one(
    writer, alice.prepare_webhook_call(test::sample_call("CA1")));
  CHECK(webhook.id == first.id);
  CHECK(webhook.status == "completed");
}

TEST_CASE("invalid item fails alone") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  // An account id with no account row: the database rejects its write.
  auto ghost = store.store_for(random_id());
  call_writer writer(store.db());
  auto results = writer.commit({
    alice.prepare_webhook_call(test::sample_call("CA1")),
    alice.prepare_status(status_event("CA2", "initiated", 1)),
    ghost.prepare_webhook_call(test::sample_call("CA3")),
    alice.prepare_webhook_call(test::sample_call("", "ringing")),
    alice.prepare_webhook_call(test::sample_call("CA4")),
  });
  REQUIRE(results.size() == 5);
  CHECK(results[0]);
  REQUIRE_FALSE(results[1]);
  CHECK(code_of(results[1].error()) == errc::invalid_request);
  REQUIRE_FALSE(results[2]);
  CHECK(code_of(results[2].error()) == errc::internal);
  REQUIRE_FALSE(results[3]);
  CHECK(code_of(results[3].error()) == errc::invalid_request);
  CHECK(results[4]);
  CHECK(alice.list_calls({}).value().calls.size() == 2);
  CHECK(ghost.find_call_by_sid("CA3").value() == std::nullopt);
}

TEST_CASE("committed record survives reopening") {
  test::test_store store;
  auto account_id = store.new_account("a@example.com");
  std::string id;
  {
    call_writer writer(store.db());
    id = commit_one(writer, store.store_for(account_id)
                              .prepare_webhook_call(test::sample_call("CA1")))
           .id;
  }
  store.close();
  store.open();
  auto found = store.store_for(account_id).find_call_by_sid("CA1");
  REQUIRE(found);
  REQUIRE(*found);
  CHECK((*found)->id == id);
}

TEST_CASE("concurrent duplicate webhooks give one record") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  for (int round = 0; round < 5; ++round) {
    auto sid = "CA" + std::to_string(round);
    std::vector<std::string> ids(4);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < ids.size(); ++t) {
      threads.emplace_back([&, t] {
        // One writer per thread, as on separate gateway nodes.
        call_writer writer(store.db());
        auto results = writer.commit(
          {alice.prepare_webhook_call(test::sample_call(sid))});
        if (results[0]) {
          ids[t] = results[0]->id;
        } else {
          ++failures;
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    CHECK(failures == 0);
    for (const auto& id : ids) {
      CHECK(id == ids[0]);
    }
  }
  CHECK(alice.list_calls({}).value().calls.size() == 5);
}

TEST_CASE("concurrent claims have one winner") {
  test::test_store store;
  auto alice = store.store_for(store.new_account("a@example.com"));
  auto bob = store.store_for(store.new_account("b@example.com"));
  for (int round = 0; round < 10; ++round) {
    auto e164 = "+1555000" + std::to_string(1000 + round);
    caf::expected<bool> results[2] = {false, false};
    std::thread first([&] {
      results[0] = alice.save_setup({"AC1", "t"}, {e164, "PN1", 0});
    });
    std::thread second([&] {
      results[1] = bob.save_setup({"AC2", "t"}, {e164, "PN2", 0});
    });
    first.join();
    second.join();
    int winners = 0;
    int in_use = 0;
    for (const auto& result : results) {
      winners += result && *result ? 1 : 0;
      in_use += !result && code_of(result.error()) == errc::number_in_use;
    }
    INFO("round " << round);
    CHECK(winners == 1);
    CHECK(in_use == 1);
  }
}

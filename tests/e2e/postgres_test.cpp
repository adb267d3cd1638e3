// End-to-end on PostgreSQL only: two gateway processes on one database,
// racing each other, and a database outage behind a TCP proxy.

#include "tests/e2e/fixture.hpp"
#include "tests/e2e/probes.hpp"
#include "tests/support/tcp_proxy.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <map>
#include <signal.h>
#include <thread>

using namespace skyiq::testing;

namespace {

using clock_type = std::chrono::steady_clock;

/// A request's outcome as a worker thread saw it; Catch2 v2 assertions
/// are not thread-safe, so threads only record and the test checks after.
struct outcome {
  int status = 0;
  std::string body;
  /// What the client threw, when the request did not complete.
  std::string failure;
};

template <class Request>
outcome attempt(Request send) {
  outcome result;
  try {
    const auto reply = send();
    result.status = reply.status;
    result.body = reply.body;
  } catch (const std::exception& e) {
    result.failure = e.what();
  }
  return result;
}

// Runs work(0) ... work(count - 1) on their own threads, released at the
// same moment, and waits for all of them.
template <class Work>
void run_together(std::size_t count, Work work) {
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < count; ++i) {
    threads.emplace_back([&work, start, i] {
      start.wait();
      work(i);
    });
  }
  go.set_value();
  for (auto& thread : threads) {
    thread.join();
  }
}

std::string number_sid() {
  return "PN" + random_call_sid().substr(2);
}

session signup_at(http_client http, const std::string& email) {
  const auto reply = http.post_json(
    "/api/auth/signup",
    json{{"email", email}, {"password", "correct horse battery"}}.dump());
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  const auto body = json::parse(reply.body);
  return {body.at("userId").get<std::string>(),
          body.at("token").get<std::string>()};
}

http_reply setup_at(http_client http, const session& user,
                    const twilio_account& account,
                    const std::string& number) {
  return http.post_json("/api/twilio/setup/" + user.user_id,
                        json{{"accountSid", account.sid},
                             {"authToken", account.token},
                             {"phoneNumber", number}}
                          .dump(),
                        user.token);
}

// Returns every call of `user` through `http`, following nextCursor.
std::vector<json> all_calls(http_client http, const session& user) {
  std::vector<json> calls;
  std::string query = "?limit=200";
  for (int page = 0; page < 100; ++page) {
    const auto reply = http.get("/api/calls/user/" + user.user_id + query,
                                user.token);
    INFO(reply.body);
    REQUIRE(reply.status == 200);
    const auto body = json::parse(reply.body);
    for (const auto& call : body["calls"]) {
      calls.push_back(call);
    }
    if (body["nextCursor"].is_null()) {
      return calls;
    }
    query = "?limit=200&cursor=" + body["nextCursor"].get<std::string>();
  }
  FAIL("the call list did not end after 100 pages");
  return calls;
}

std::map<std::string, int> count_by_sid(const std::vector<json>& calls) {
  std::map<std::string, int> counts;
  for (const auto& call : calls) {
    ++counts[call["callSid"].get<std::string>()];
  }
  return counts;
}

/// Two gateway processes on one new database: `fx.gateway`, given the
/// database as a postgresql:// URL, and `second`, given it as a libpq
/// key=value string. They share the master key file, so either can
/// decrypt the Twilio credentials the other stored.
struct two_gateways {
  two_gateways() : fx(storage_backend::postgresql) {
    fx.start();
    auto overrides = fx.overrides();
    overrides.push_back("storage.url="
                        + fx.postgres->key_value(fx.postgres->host(),
                                                 fx.postgres->port()));
    second = std::make_unique<gateway_process>(
      fx.dir.path() + "/second-gateway.log", overrides);
  }

  http_client client(std::size_t index) const {
    return http_client(index == 0 ? fx.gateway->port() : second->port());
  }

  gateway_fixture fx;
  std::unique_ptr<gateway_process> second;
};

} // namespace

TEST_CASE("number claimed through two gateways at once has one owner") {
  two_gateways gateways;
  auto& fx = gateways.fx;
  const auto twilio = fx.add_twilio_account("+14155550200");
  constexpr int rounds = 8;
  for (int round = 0; round < rounds; ++round) {
    INFO("round " << round);
    const auto number = "+1415555" + std::to_string(1000 + round);
    fx.twilio.add_number(twilio.sid, number, number_sid(), "Shared line");
    const session users[2] = {
      signup_at(gateways.client(0), "a" + std::to_string(round) + "@x.test"),
      signup_at(gateways.client(1), "b" + std::to_string(round) + "@x.test")};
    outcome claims[2];
    run_together(2, [&](std::size_t i) {
      claims[i] = attempt([&] {
        return setup_at(gateways.client(i), users[i], twilio, number);
      });
    });
    for (const auto& claim : claims) {
      INFO(claim.failure << claim.body);
      CHECK(claim.failure.empty());
    }
    const bool first_won = claims[0].status == 201;
    const auto& winner = claims[first_won ? 0 : 1];
    const auto& loser = claims[first_won ? 1 : 0];
    CHECK(winner.status == 201);
    CHECK(loser.status == 409);
    CHECK(error_code(loser.body) == "number_in_use");

    // Both gateways route the number to the winner and only to it.
    const auto& owner = users[first_won ? 0 : 1];
    const auto& other = users[first_won ? 1 : 0];
    for (std::size_t gateway = 0; gateway < 2; ++gateway) {
      auto http = gateways.client(gateway);
      const auto reply = post_signed(
        http, "/api/twilio/webhook", public_base_url, twilio.token,
        voice_params(twilio.sid, random_call_sid(), "+14155550100", number));
      CHECK(reply.status == 200);
      CHECK(reply.body.find("<Reject/>") == std::string::npos);
    }
    CHECK(all_calls(gateways.client(1), owner).size() == 2);
    CHECK(all_calls(gateways.client(0), other).empty());
  }
}

TEST_CASE("duplicate webhooks through two gateways make one record") {
  two_gateways gateways;
  auto& fx = gateways.fx;
  const auto twilio = fx.add_twilio_account("+14155550300");
  const auto user = fx.connect("dup@example.com", twilio);
  const std::string from = "+14155550100";
  constexpr int rounds = 20;
  std::vector<std::string> sids;
  for (int round = 0; round < rounds; ++round) {
    INFO("round " << round);
    const auto sid = random_call_sid();
    sids.push_back(sid);
    // Odd rounds race the voice webhook against the final status callback
    // of the same call, which may arrive first and create the record.
    const bool with_status = round % 2 == 1;
    outcome replies[2];
    run_together(2, [&](std::size_t i) {
      replies[i] = attempt([&] {
        auto http = gateways.client(i);
        if (i == 1 && with_status) {
          return post_signed(http, "/api/twilio/status", public_base_url,
                             twilio.token,
                             status_params(twilio.sid, sid, from,
                                           twilio.number, "completed", 4,
                                           30));
        }
        return post_signed(http, "/api/twilio/webhook", public_base_url,
                           twilio.token,
                           voice_params(twilio.sid, sid, from,
                                        twilio.number));
      });
    });
    INFO(replies[0].failure << replies[0].body);
    INFO(replies[1].failure << replies[1].body);
    CHECK(replies[0].status == 200);
    CHECK(replies[1].status == (with_status ? 204 : 200));
    if (!with_status) {
      CHECK(replies[0].body == replies[1].body);
    }
  }

  const auto calls = all_calls(gateways.client(1), user);
  CHECK(calls.size() == sids.size());
  const auto counts = count_by_sid(calls);
  for (std::size_t round = 0; round < sids.size(); ++round) {
    INFO("round " << round);
    const auto found = counts.find(sids[round]);
    REQUIRE(found != counts.end());
    CHECK(found->second == 1);
  }
  for (const auto& call : calls) {
    const auto round = std::find(sids.begin(), sids.end(),
                                 call["callSid"].get<std::string>())
                       - sids.begin();
    INFO("round " << round);
    CHECK(call["status"] == (round % 2 == 1 ? "completed" : "ringing"));
  }
}

TEST_CASE("concurrent webhooks on two gateways commit in batches") {
  two_gateways gateways;
  auto& fx = gateways.fx;
  const auto twilio = fx.add_twilio_account("+14155550400");
  const auto user = fx.connect("load@example.com", twilio);
  constexpr std::size_t threads = 16;
  constexpr std::size_t per_thread = 25;
  const auto deadline = clock_type::now() + std::chrono::seconds(60);
  std::vector<std::vector<std::pair<std::string, outcome>>> sent(threads);
  const auto started = clock_type::now();
  run_together(threads, [&](std::size_t i) {
    auto http = gateways.client(i % 2);
    for (std::size_t n = 0; n < per_thread && clock_type::now() < deadline;
         ++n) {
      const auto sid = random_call_sid();
      sent[i].emplace_back(sid, attempt([&] {
        return post_signed(http, "/api/twilio/webhook", public_base_url,
                           twilio.token,
                           voice_params(twilio.sid, sid, "+14155550100",
                                        twilio.number));
      }));
    }
  });
  const std::chrono::duration<double> took = clock_type::now() - started;

  std::size_t answered = 0;
  std::size_t sent_count = 0;
  std::string first_failure;
  for (const auto& list : sent) {
    for (const auto& [sid, result] : list) {
      ++sent_count;
      if (result.status == 200) {
        ++answered;
      } else if (first_failure.empty()) {
        first_failure = std::to_string(result.status) + " " + result.failure
                        + result.body;
      }
    }
  }
  INFO(sent_count << " webhooks in " << took.count() << " s");
  INFO("first failure: " << first_failure);
  CHECK(sent_count == threads * per_thread);
  CHECK(answered == sent_count);

  const auto counts = count_by_sid(all_calls(gateways.client(0), user));
  std::size_t missing_or_repeated = 0;
  for (const auto& list : sent) {
    for (const auto& [sid, result] : list) {
      const auto found = counts.find(sid);
      if (result.status == 200
          && (found == counts.end() || found->second != 1)) {
        ++missing_or_repeated;
      }
    }
  }
  CHECK(missing_or_repeated == 0);
  CHECK(counts.size() == answered);

  for (std::size_t gateway = 0; gateway < 2; ++gateway) {
    INFO("gateway " << gateway);
    const auto text = gateways.client(gateway).get("/metrics").body;
    const auto batches = metric_value(text, "skyiq_commit_batch_size_count");
    const auto single = metric_value(
      text, "skyiq_commit_batch_size_bucket{le=\"1\"}");
    const auto writes = metric_value(text, "skyiq_commit_batch_size_sum");
    REQUIRE(batches.has_value());
    REQUIRE(single.has_value());
    REQUIRE(writes.has_value());
    INFO(*writes << " writes in " << *batches << " batches, " << *single
                 << " of them single");
    // A batch of more than one write exists: the writer groups commits.
    CHECK(*batches > *single);
  }
}

TEST_CASE("database outage is 503 until the database returns") {
  gateway_fixture fx(storage_backend::postgresql);
  tcp_proxy proxy(fx.postgres->host(), fx.postgres->port());
  // The password must never reach a log line. When the server's URL has
  // none, the server does not ask for one and the made-up one goes unused.
  auto secret = fx.postgres->password();
  std::string extra = "connect_timeout=2";
  if (secret.empty()) {
    secret = "e2e-outage-secret-pw";
    extra += " password=" + secret;
  }
  fx.storage_url = fx.postgres->key_value("127.0.0.1", proxy.port(), extra);
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550500");
  const auto user = fx.connect("outage@example.com", twilio);
  REQUIRE(fx.send_voice(twilio, random_call_sid()).status == 200);
  const auto metrics_before = http.get("/metrics").body;
  const auto errors_before =
    metric_value(metrics_before, "skyiq_database_errors_total");
  REQUIRE(errors_before.has_value());

  proxy.cut();
  const auto lost_sid = random_call_sid();
  const auto cut_at = clock_type::now();
  const auto voice = fx.send_voice(twilio, lost_sid);
  const std::chrono::duration<double> voice_took = clock_type::now() - cut_at;
  INFO(voice.body);
  CHECK(voice.status == 503);
  CHECK(error_code(voice.body) == "unavailable");
  // Twilio gives up on a voice webhook after 15 s; the fallback URL only
  // helps when the 503 comes well before that.
  CHECK(voice_took.count() < 10.0);
  const auto status = post_signed(
    http, "/api/twilio/status", public_base_url, twilio.token,
    status_params(twilio.sid, lost_sid, "+14155550100", twilio.number,
                  "completed", 2, 5));
  CHECK(status.status == 503);
  CHECK(error_code(status.body) == "unavailable");
  const auto calls = http.get("/api/calls/user/" + user.user_id, user.token);
  CHECK(calls.status == 503);
  CHECK(error_code(calls.body) == "unavailable");
  const auto profile = http.post_json("/api/business/" + user.user_id,
                                      json{{"businessName", "Down"}}.dump(),
                                      user.token);
  CHECK(profile.status == 503);
  const auto signup = http.post_json(
    "/api/auth/signup",
    json{{"email", "late@example.com"}, {"password", "long enough pw"}}
      .dump());
  CHECK(signup.status == 503);
  CHECK(http.get("/readyz").status == 503);
  CHECK(http.get("/healthz").status == 200);
  const auto metrics_during = http.get("/metrics").body;
  const auto errors_during =
    metric_value(metrics_during, "skyiq_database_errors_total");
  REQUIRE(errors_during.has_value());
  CHECK(*errors_during > *errors_before);
  CHECK(::kill(fx.gateway->pid(), 0) == 0);
  const auto log = fx.gateway->log();
  CHECK(log.find("storage-failed") != std::string::npos);
  CHECK(log.find("127.0.0.1:" + std::to_string(proxy.port()) + "/"
                 + fx.postgres->name())
        != std::string::npos);
  CHECK(log.find(secret) == std::string::npos);

  proxy.restore();
  const auto restored_at = clock_type::now();
  CHECK(eventually([&] { return http.get("/readyz").status == 200; },
                   std::chrono::seconds(10)));
  const std::chrono::duration<double> ready_took =
    clock_type::now() - restored_at;
  INFO("ready " << ready_took.count() << " s after the restore");
  // Twilio's retry of the lost webhook is stored once.
  CHECK(fx.send_voice(twilio, lost_sid).status == 200);
  CHECK(http.post_json("/api/business/" + user.user_id,
                       json{{"businessName", "Up"}}.dump(), user.token)
          .status
        == 200);
  const auto after = fx.calls_of(user);
  CHECK(after["calls"].size() == 2);
  CHECK(count_by_sid(after["calls"].get<std::vector<json>>())[lost_sid] == 1);
  CHECK(fx.gateway->log().find(secret) == std::string::npos);
}

TEST_CASE("hung database is 503 within the storage timeout") {
  gateway_fixture fx(storage_backend::postgresql);
  tcp_proxy proxy(fx.postgres->host(), fx.postgres->port());
  fx.storage_url = fx.postgres->key_value("127.0.0.1", proxy.port(),
                                          "connect_timeout=2");
  fx.start({"storage.timeout=2s"});
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550700");
  const auto user = fx.connect("hung@example.com", twilio);
  REQUIRE(fx.send_voice(twilio, random_call_sid()).status == 200);
  REQUIRE(fx.calls_of(user)["calls"].size() == 1);
  // Concurrent requests open every pooled connection, so that the stall
  // below catches idle connections as well as new ones.
  outcome warm_up[8];
  run_together(8, [&](std::size_t i) {
    warm_up[i] = attempt([&] {
      return http.get("/api/calls/user/" + user.user_id, user.token);
    });
  });
  for (const auto& result : warm_up) {
    REQUIRE(result.status == 200);
  }

  // Every connection, pooled or new, now waits for a server that never
  // replies.
  proxy.stall();
  const auto lost_sid = random_call_sid();
  auto timed = [](auto send) {
    const auto started = clock_type::now();
    auto result = attempt(send);
    const std::chrono::duration<double> took = clock_type::now() - started;
    return std::make_pair(result, took.count());
  };
  const auto [voice, voice_took] =
    timed([&] { return fx.send_voice(twilio, lost_sid); });
  INFO("voice webhook: " << voice.failure << voice.body << " after "
                         << voice_took << " s");
  CHECK(voice.status == 503);
  CHECK(voice_took < 10.0);
  const auto [calls, calls_took] = timed([&] {
    return http.get("/api/calls/user/" + user.user_id, user.token);
  });
  INFO("call list: " << calls.failure << calls.body << " after "
                     << calls_took << " s");
  CHECK(calls.status == 503);
  CHECK(calls_took < 10.0);
  // Each request may pick another pooled connection that waits for the
  // server, so ask more often than the pool has connections.
  for (int probe = 0; probe < 6; ++probe) {
    const auto [ready, ready_took] =
      timed([&] { return http.get("/readyz"); });
    INFO("readyz " << probe << ": " << ready.failure << ready.body
                   << " after " << ready_took << " s");
    CHECK(ready.status == 503);
    CHECK(ready_took < 10.0);
  }
  CHECK(fx.gateway->log().find("statement timeout") != std::string::npos);

  proxy.restore();
  CHECK(eventually([&] { return http.get("/readyz").status == 200; },
                   std::chrono::seconds(15)));
  CHECK(fx.send_voice(twilio, lost_sid).status == 200);
  const auto after = fx.calls_of(user);
  CHECK(after["calls"].size() == 2);
}

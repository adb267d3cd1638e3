// End-to-end on SQLite only: another connection holds the write lock for
// longer than the gateway's busy timeout.

#include "tests/e2e/fixture.hpp"
#include "tests/e2e/probes.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>

using namespace skyiq::testing;

namespace {

/// A second connection to the gateway's SQLite file that holds an
/// exclusive write lock (BEGIN EXCLUSIVE) from construction until
/// `release`.
class write_lock {
public:
  explicit write_lock(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr)
        != SQLITE_OK) {
      FAIL("cannot open " << path << ": " << sqlite3_errmsg(db_));
    }
    run("BEGIN EXCLUSIVE");
  }

  ~write_lock() {
    sqlite3_close(db_);
  }

  void release() {
    run("ROLLBACK");
  }

private:
  void run(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string text = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      FAIL(sql << " failed: " << text);
    }
  }

  sqlite3* db_ = nullptr;
};

std::string sqlite_path(const gateway_fixture& fx) {
  return fx.storage_url.substr(std::string("sqlite:").size());
}

} // namespace

TEST_CASE("locked SQLite database is 503 and stores nothing") {
  gateway_fixture fx(storage_backend::sqlite);
  // The gateway's busy timeout is derived from storage.timeout and stays
  // below it.
  fx.start({"storage.timeout=1s"});
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550600");
  const auto user = fx.connect("locked@example.com", twilio);
  REQUIRE(fx.send_voice(twilio, random_call_sid()).status == 200);
  const auto errors_before = metric_value(http.get("/metrics").body,
                                          "skyiq_database_errors_total");
  REQUIRE(errors_before.has_value());

  write_lock lock(sqlite_path(fx));
  const auto lost_sid = random_call_sid();
  const auto started = std::chrono::steady_clock::now();
  const auto voice = fx.send_voice(twilio, lost_sid);
  const std::chrono::duration<double> took =
    std::chrono::steady_clock::now() - started;
  INFO(voice.body);
  CHECK(voice.status == 503);
  CHECK(error_code(voice.body) == "unavailable");
  CHECK(took.count() < 5.0);
  const auto status = post_signed(
    http, "/api/twilio/status", public_base_url, twilio.token,
    status_params(twilio.sid, lost_sid, "+14155550100", twilio.number,
                  "completed", 2, 5));
  CHECK(status.status == 503);
  CHECK(error_code(status.body) == "unavailable");
  const auto created = http.post_json("/api/calls",
                                      json{{"callSid", random_call_sid()},
                                           {"from", "+14155550100"},
                                           {"to", twilio.number}}
                                        .dump(),
                                      user.token);
  CHECK(created.status == 503);
  CHECK(error_code(created.body) == "unavailable");
  // In WAL mode readers do not wait for the writer's lock.
  CHECK(fx.calls_of(user)["calls"].size() == 1);
  const auto errors_during = metric_value(http.get("/metrics").body,
                                          "skyiq_database_errors_total");
  REQUIRE(errors_during.has_value());
  CHECK(*errors_during > *errors_before);
  const auto log = fx.gateway->log();
  CHECK(log.find("storage-failed") != std::string::npos);
  CHECK(log.find("locked") != std::string::npos);

  lock.release();
  // Nothing of the refused writes was stored.
  CHECK(fx.calls_of(user)["calls"].size() == 1);
  // Twilio's retry of the refused webhook is stored once.
  CHECK(fx.send_voice(twilio, lost_sid).status == 200);
  const auto calls = fx.calls_of(user)["calls"];
  CHECK(calls.size() == 2);
  CHECK(calls[0]["callSid"] == lost_sid);
  CHECK(calls[0]["status"] == "ringing");
}

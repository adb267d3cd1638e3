#pragma once

#include "tests/e2e/postgres_database.hpp"
#include "tests/e2e/support.hpp"
#include "tests/fake_twilio/fake_twilio.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace skyiq::testing {

using json = nlohmann::json;

/// The URL the test gateway believes Twilio calls, as behind a proxy that
/// terminates TLS; signatures are computed over it.
inline const std::string public_base_url = "https://gateway.test.invalid";

/// A Twilio account in the fake, with one number.
struct twilio_account {
  std::string sid;
  std::string token;
  std::string number;
  std::string number_sid;
};

/// A Sky IQ account after signup.
struct session {
  std::string user_id;
  std::string token;
};

/// The store a gateway_fixture runs on.
enum class storage_backend { sqlite, postgresql };

/// Returns the backend named by the environment variable
/// SKYIQ_E2E_BACKEND: `sqlite` (also when unset) or `postgresql`. Fails the
/// test on any other value.
storage_backend backend_from_environment();

/// The real gateway binary against a fake Twilio, with its master key in a
/// scratch directory and an empty store of its own. That store is a SQLite
/// file in the directory, or a new PostgreSQL database on the server named
/// by SKYIQ_TEST_POSTGRES_URL, dropped with the fixture.
class gateway_fixture {
public:
  /// Runs on the backend that SKYIQ_E2E_BACKEND names.
  gateway_fixture();
  explicit gateway_fixture(storage_backend backend);

  /// Starts (or restarts) the gateway on the same files.
  void start(const std::vector<std::string>& extra = {});

  /// The `--set` overrides the gateway runs with.
  std::vector<std::string> overrides() const;

  http_client client() const {
    return http_client(gateway->port());
  }

  /// Adds a Twilio account with one number to the fake.
  twilio_account add_twilio_account(const std::string& number);

  session signup(const std::string& email,
                 const std::string& password = "correct horse battery");

  /// Signs up, connects `account`'s number and returns the session.
  session connect(const std::string& email, const twilio_account& account);

  http_reply send_voice(const twilio_account& account,
                        const std::string& call_sid,
                        const std::string& from = "+14155550100");

  json calls_of(const session& s, const std::string& query = "");

  storage_backend backend;
  temp_dir dir;
  fake_twilio twilio;
  /// The PostgreSQL database; null on SQLite. Declared before `gateway`
  /// so that the gateway stops before the database is dropped.
  std::unique_ptr<postgres_database> postgres;
  std::unique_ptr<gateway_process> gateway;
  /// `sqlite:PATH` or the database's postgresql:// URL.
  std::string storage_url;

private:
  int accounts_ = 0;
  int restarts_ = 0;
};

} // namespace skyiq::testing

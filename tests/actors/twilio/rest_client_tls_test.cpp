// REST client certificate and host name verification against the fake
// Twilio server speaking https with a private test CA.

#include "tests/actors/twilio/rest_fixture.hpp"

using namespace skyiq::twilio;
using namespace skyiq::twilio::test;
using skyiq::errc;

namespace {

const std::string cert_dir = SKYIQ_TEST_CERT_DIR;

skyiq::testing::fake_options tls_options() {
  skyiq::testing::fake_options options;
  options.certificate_file = cert_dir + "/server.pem";
  options.private_key_file = cert_dir + "/server.key";
  return options;
}

// The fake's certificate names only "localhost".
struct tls_fixture {
  skyiq::testing::fake_twilio fake{tls_options()};
  int failures = 0;

  tls_fixture() {
    fake.add_account(account_a, token_a);
  }

  rest_options options(const std::string& host, bool trust_test_ca) {
    rest_options result;
    result.base_url = "https://" + host + ":" + std::to_string(fake.port());
    result.max_retries = 2;
    result.retry_backoff = std::chrono::milliseconds(10);
    result.timeout = std::chrono::milliseconds(3000);
    if (trust_test_ca) {
      result.ca_file = cert_dir + "/ca.pem";
    }
    result.on_error = [this](int, int) { ++failures; };
    return result;
  }
};

} // namespace

TEST_CASE_METHOD(tls_fixture, "https with the private CA is verified") {
  auto twilio = rest_fixture::client(options("localhost", true));
  CHECK(twilio.check_account({account_a, token_a}));
  CHECK(fake.requests().size() == 1);
}

TEST_CASE_METHOD(tls_fixture, "unknown CA is rejected before auth") {
  auto twilio = rest_fixture::client(options("localhost", false));
  const auto checked = twilio.check_account({account_a, token_a});
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::twilio_unavailable);
  CHECK(skyiq::message_of(checked.error()).find("certificate") !=
        std::string::npos);
  CHECK(fake.requests().empty());
  // A certificate failure is not retried.
  CHECK(failures == 1);
}

TEST_CASE_METHOD(tls_fixture, "certificate for another host is rejected") {
  auto twilio = rest_fixture::client(options("127.0.0.1", true));
  const auto checked = twilio.check_account({account_a, token_a});
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::twilio_unavailable);
  CHECK(skyiq::message_of(checked.error()).find("'127.0.0.1'") !=
        std::string::npos);
  CHECK(fake.requests().empty());
  CHECK(failures == 1);
}

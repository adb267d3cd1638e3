#include "actors/twiml.hpp"
#include "actors/webhook_params.hpp"

#include <catch2/catch.hpp>

using namespace skyiq::actors;

TEST_CASE("TwiML escapes the greeting and dials forwardTo") {
  skyiq::storage::business_profile profile;
  profile.greeting = "<b>&'\"";
  profile.forward_to = "+14155550100";
  const auto doc = render_answer(profile);
  CHECK(doc.find("<Say>&lt;b&gt;&amp;&apos;&quot;</Say>") != std::string::npos);
  CHECK(doc.find("<Dial>+14155550100</Dial>") != std::string::npos);
}

TEST_CASE("TwiML without a profile still answers") {
  const auto doc = render_answer({});
  CHECK(doc.find("<Say>Thank you for calling.</Say>") != std::string::npos);
  CHECK(doc.find("<Dial>") == std::string::npos);
}

TEST_CASE("reject document is Twilio's unbilled reject") {
  CHECK(render_reject().find("<Response><Reject/></Response>") !=
        std::string::npos);
}

TEST_CASE("webhook params build a call record") {
  const param_list params = {{"CallSid", "CA0123456789abcdef0123456789abcdef"},
                             {"From", "+14155550100"},
                             {"To", "+14155550101"},
                             {"Direction", "inbound"},
                             {"CallStatus", "ringing"}};
  const auto record = call_from_webhook(params, 5);
  REQUIRE(record);
  CHECK(record->call_sid == "CA0123456789abcdef0123456789abcdef");
  CHECK(record->created_at == 5);
  CHECK(record->status == "ringing");
}

TEST_CASE("webhook params reject a malformed CallSid") {
  CHECK_FALSE(call_from_webhook({{"CallSid", "CA12"}}, 0));
  CHECK_FALSE(call_from_webhook({}, 0));
}

TEST_CASE("status callbacks parse sequence, duration and timestamp") {
  const param_list params = {{"CallSid", "CA0123456789abcdef0123456789abcdef"},
                             {"CallStatus", "completed"},
                             {"SequenceNumber", "3"},
                             {"CallDuration", "42"},
                             {"Timestamp", "Fri, 04 Dec 2026 15:00:00 +0000"}};
  const auto update = status_from_callback(params, 0);
  REQUIRE(update);
  CHECK(update->sequence_number == 3);
  CHECK(update->duration_seconds == 42);
  CHECK(update->event_time == 1796396400000);
  CHECK_FALSE(
      status_from_callback({{"CallSid", "CA0123456789abcdef0123456789abcdef"},
                            {"CallStatus", "done"}},
                           0));
  CHECK_FALSE(
      status_from_callback({{"CallSid", "CA0123456789abcdef0123456789abcdef"},
                            {"CallStatus", "completed"},
                            {"SequenceNumber", "-1"}},
                           0));
}

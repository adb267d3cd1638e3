// Backend-free units: encodings, storage.url parsing, placeholder
// rewriting and the status callback rules.

#include "storage/call_status.hpp"
#include "storage/dialect.hpp"
#include "storage/encoding.hpp"
#include "storage/errors.hpp"
#include "storage/storage_url.hpp"

#include <catch2/catch.hpp>

using namespace skyiq;
using namespace skyiq::storage;

TEST_CASE("base64url matches RFC 4648 vectors") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_decode("Zm9vYg") == std::optional<std::string>("foob"));
  CHECK(base64url_decode("-_8") == std::optional<std::string>("\xfb\xff"));
}

TEST_CASE("base64url rejects foreign input") {
  CHECK_FALSE(base64url_decode("Zg=="));
  CHECK_FALSE(base64url_decode("Z"));
  CHECK_FALSE(base64url_decode("Zh"));
  CHECK_FALSE(base64url_decode("Zm9v+"));
  CHECK_FALSE(base64url_decode("a b"));
}

TEST_CASE("base64 with padding round trips") {
  for (std::string text : {"", "a", "ab", "abc", "abcd"}) {
    CHECK(base64_decode(base64_encode(text)) == text);
  }
  CHECK(base64_encode("ab") == "YWI=");
  CHECK_FALSE(base64_decode("YWI"));
  CHECK_FALSE(base64_decode("Y==="));
}

TEST_CASE("sqlite url gives the file path") {
  auto target = parse_storage_url("sqlite:var/gateway.db");
  REQUIRE(target);
  CHECK(target->backend == backend_kind::sqlite);
  CHECK(target->sqlite_path == "var/gateway.db");
  auto absolute = parse_storage_url("sqlite:///tmp/x.db");
  REQUIRE(absolute);
  CHECK(absolute->sqlite_path == "/tmp/x.db");
  CHECK_FALSE(parse_storage_url("sqlite:"));
  CHECK_FALSE(parse_storage_url("sqlite::memory:"));
}

TEST_CASE("postgresql url becomes key=value") {
  auto target = parse_storage_url(
    "postgresql://sky%20user:p%40ss%27w%5Crd@db.example:5433/skyiq"
    "?sslmode=require");
  REQUIRE_FALSE(target);
  CHECK(message_of(target.error()).find("user") != std::string::npos);
  target = parse_storage_url(
    "postgresql://skyiq:p%40ss%27w%5Crd@db.example:5433/sky_iq"
    "?sslmode=require");
  REQUIRE(target);
  CHECK(target->backend == backend_kind::postgresql);
  CHECK(target->connection_string
        == "user=skyiq password=p@ss\\'w\\\\rd host=db.example port=5433 "
           "dbname=sky_iq sslmode=require connect_timeout=5");
  CHECK(target->display == "postgresql://skyiq@db.example:5433/sky_iq");
}

TEST_CASE("postgres url accepts IPv6 and keeps a given timeout") {
  auto target = parse_storage_url(
    "postgres://u@[::1]:6000/db?connect_timeout=2");
  REQUIRE(target);
  CHECK(target->connection_string
        == "user=u host=::1 port=6000 dbname=db connect_timeout=2");
}

TEST_CASE("key=value url is re-rendered") {
  auto target = parse_storage_url(
    "host=127.0.0.1 port = 55432 password='s\\'cret' dbname=postgres");
  REQUIRE(target);
  CHECK(target->connection_string
        == "host=127.0.0.1 port=55432 password=s\\'cret dbname=postgres "
           "connect_timeout=5");
  CHECK(target->display.find("cret") == std::string::npos);
}

TEST_CASE("postgresql value with whitespace is rejected") {
  auto target = parse_storage_url("host=localhost password='two words'");
  REQUIRE_FALSE(target);
  CHECK(code_of(target.error()) == errc::invalid_request);
  CHECK(message_of(target.error()).find("password") != std::string::npos);
  CHECK(message_of(target.error()).find("two words") == std::string::npos);
}

TEST_CASE("malformed storage urls are rejected") {
  CHECK_FALSE(parse_storage_url("mysql://localhost/db"));
  CHECK_FALSE(parse_storage_url("postgresql://u:%zz@host/db"));
  CHECK_FALSE(parse_storage_url("postgresql://u@h1,h2/db"));
  CHECK_FALSE(parse_storage_url("host='unterminated"));
}

TEST_CASE("scrub removes the password in every form") {
  auto target = parse_storage_url("postgresql://u:se%2Fcret@h/db");
  REQUIRE(target);
  auto text = scrub("failed: " + target->connection_string
                      + " / se/cret / se%2Fcret",
                    *target);
  CHECK(text.find("se/cret") == std::string::npos);
  CHECK(text.find("se%2Fcret") == std::string::npos);
  CHECK(text.find(target->display) != std::string::npos);
}

TEST_CASE("placeholders become numbered for postgresql") {
  auto sql = "SELECT '?' FROM t WHERE a = ? AND \"b?\" = ? LIMIT ?";
  CHECK(translate_placeholders(backend_kind::postgresql, sql)
        == "SELECT '?' FROM t WHERE a = $1 AND \"b?\" = $2 LIMIT $3");
  CHECK(translate_placeholders(backend_kind::sqlite, sql) == sql);
}

TEST_CASE("call statuses are Twilio's eight") {
  for (auto status : {"queued", "ringing", "in-progress", "completed",
                      "busy", "failed", "no-answer", "canceled"}) {
    CHECK(is_call_status(status));
  }
  CHECK_FALSE(is_call_status("initiated"));
  CHECK_FALSE(is_call_status(""));
  CHECK(is_final_status("no-answer"));
  CHECK_FALSE(is_final_status("in-progress"));
}

namespace {

call_record stored_call(const std::string& status,
                        std::int64_t last_sequence) {
  call_record call;
  call.call_sid = "CA1";
  call.status = status;
  call.last_sequence = last_sequence;
  return call;
}

status_update status_event(const std::string& status,
                           std::optional<std::int64_t> sequence) {
  status_update update;
  update.call_sid = "CA1";
  update.status = status;
  update.sequence_number = sequence;
  update.event_time = 5000;
  return update;
}

} // namespace

TEST_CASE("status rules order by SequenceNumber") {
  CHECK(apply_status(stored_call("ringing", 1), status_event("queued", 2)));
  CHECK_FALSE(
    apply_status(stored_call("in-progress", 2), status_event("ringing", 1)));
  CHECK_FALSE(
    apply_status(stored_call("in-progress", 2), status_event("ringing", 2)));
}

TEST_CASE("status rules keep a final status") {
  CHECK_FALSE(
    apply_status(stored_call("completed", 3), status_event("ringing", 4)));
  CHECK_FALSE(
    apply_status(stored_call("busy", -1), status_event("in-progress", {})));
  CHECK_FALSE(
    apply_status(stored_call("completed", -1), status_event("failed", {})));
  auto newer = apply_status(stored_call("completed", -1),
                            status_event("completed", 3));
  REQUIRE(newer);
  CHECK(newer->last_sequence == 3);
}

TEST_CASE("status rules without SequenceNumber go forward only") {
  CHECK(apply_status(stored_call("ringing", -1),
                     status_event("in-progress", {})));
  CHECK_FALSE(
    apply_status(stored_call("in-progress", -1), status_event("ringing", {})));
  CHECK_FALSE(
    apply_status(stored_call("ringing", -1), status_event("ringing", {})));
  CHECK(apply_status(stored_call("in-progress", 2),
                     status_event("completed", {})));
}

TEST_CASE("status rules set call times") {
  auto answered = apply_status(stored_call("ringing", 0),
                               status_event("in-progress", 1));
  REQUIRE(answered);
  CHECK(answered->started_at == std::optional<timestamp_ms>(5000));
  auto done = status_event("completed", 2);
  done.event_time = 65000;
  done.duration_seconds = 60;
  auto ended = apply_status(*answered, done);
  REQUIRE(ended);
  CHECK(ended->started_at == std::optional<timestamp_ms>(5000));
  CHECK(ended->ended_at == std::optional<timestamp_ms>(65000));
  CHECK(ended->duration_seconds == std::optional<std::int64_t>(60));
  CHECK(ended->status == "completed");
}

TEST_CASE("status callback creates a missing call") {
  auto update = status_event("completed", {});
  update.from = "+15550001111";
  update.to = "+15550002222";
  update.direction = "inbound";
  auto call = call_from_status(update);
  CHECK(call.status == "completed");
  CHECK(call.to == "+15550002222");
  CHECK(call.last_sequence == -1);
  CHECK(call.ended_at == std::optional<timestamp_ms>(5000));
}

// End-to-end: login throttling, per-account dashboard rate limits, and the
// HTTP server's connection, header and read-time limits.

#include "tests/e2e/fixture.hpp"

#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace skyiq::testing;

namespace {

http_reply login(http_client& http, const std::string& email,
                 const std::string& password) {
  return http.post_json("/api/auth/login",
                        json{{"email", email}, {"password", password}}.dump());
}

std::string code_of(const http_reply& reply) {
  return json::parse(reply.body)["error"]["code"].get<std::string>();
}

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A raw connection to the gateway, for clients that misbehave.
class raw_connection {
public:
  // Connects to the gateway on 127.0.0.1, from `source` (any loopback
  // address) when it is set, so that the request comes from another client address.
  explicit raw_connection(std::uint16_t port, const std::string& source = "") {
    if (!source.empty()) {
      socket_.impl()->bind(Poco::Net::SocketAddress(source, 0), false);
    }
    socket_.connect(Poco::Net::SocketAddress("127.0.0.1", port));
  }

  // Sends `bytes`; false once the server has closed the connection.
  bool send(const std::string& bytes) {
    try {
      return socket_.sendBytes(bytes.data(), static_cast<int>(bytes.size()))
             == static_cast<int>(bytes.size());
    } catch (const Poco::Exception&) {
      return false;
    }
  }

  // Reads until the server closes the connection, a whole response with
  // `Content-Length` arrived, or `limit` passed. Sets `closed` when the
  // server closed or reset the connection.
  std::string read(milliseconds limit) {
    std::string received;
    const auto until = steady_clock::now() + limit;
    char buffer[4096];
    while (steady_clock::now() < until) {
      socket_.setReceiveTimeout(Poco::Timespan(50 * 1000));
      try {
        const int n = socket_.receiveBytes(buffer, sizeof(buffer));
        if (n <= 0) {
          closed = true;
          return received;
        }
        received.append(buffer, static_cast<std::size_t>(n));
        if (complete(received)) {
          return received;
        }
      } catch (const Poco::TimeoutException&) {
      } catch (const Poco::Net::NetException&) {
        closed = true;
        return received;
      }
    }
    return received;
  }

  bool closed = false;

private:
  static bool complete(const std::string& text) {
    const auto end = text.find("\r\n\r\n");
    const auto field = text.find("Content-Length: ");
    if (end == std::string::npos || field == std::string::npos) {
      return false;
    }
    const auto length = std::stoul(text.substr(field + 16));
    return text.size() >= end + 4 + length;
  }

  Poco::Net::StreamSocket socket_;
};

const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n";

// Logs in from the loopback address `source` and returns the status.
int login_from(std::uint16_t port, const std::string& source,
               const std::string& email, const std::string& password) {
  const auto body =
    json{{"email", email}, {"password", password}}.dump();
  raw_connection client(port, source);
  client.send("POST /api/auth/login HTTP/1.1\r\nHost: gateway\r\n"
              "Content-Type: application/json\r\nContent-Length: "
              + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n"
              + body);
  const auto reply = client.read(milliseconds(10000));
  REQUIRE(reply.rfind("HTTP/1.1 ", 0) == 0);
  return std::stoi(reply.substr(9, 3));
}

std::string metric(http_client& http, const std::string& name) {
  const auto text = http.get("/metrics").body;
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) {
    return "";
  }
  const auto start = at + name.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

} // namespace

TEST_CASE("repeated failed logins for one email get 429") {
  gateway_fixture fx;
  fx.start({"security.login_max_failures=3"});
  auto http = fx.client();
  fx.signup("victim@example.com", "the right password");

  for (int i = 0; i < 3; ++i) {
    CHECK(login(http, "victim@example.com", "wrong guess").status == 401);
  }
  const auto blocked = login(http, "Victim@Example.com", "wrong guess");
  CHECK(blocked.status == 429);
  CHECK(code_of(blocked) == "rate_limited");
  CHECK(std::stoi(blocked.header("Retry-After")) > 0);

  // The right password is refused too while the email is blocked.
  CHECK(login(http, "victim@example.com", "the right password").status == 429);
  // Another email from the same address is not blocked by this limit.
  fx.signup("other@example.com", "another password");
  CHECK(login(http, "other@example.com", "another password").status == 200);
}

TEST_CASE("guesses block only their own address") {
  gateway_fixture fx;
  fx.start({"security.login_max_failures=3",
            "security.login_max_failures_per_email=5"});
  const auto port = fx.gateway->port();
  fx.signup("owner@example.com", "the owner's password");

  for (int i = 0; i < 3; ++i) {
    CHECK(login_from(port, "127.0.0.2", "owner@example.com", "a wrong guess") == 401);
  }
  CHECK(login_from(port, "127.0.0.2", "owner@example.com", "a wrong guess") == 429);
  // The owner, from another address, still logs in.
  CHECK(login_from(port, "127.0.0.1", "owner@example.com",
                   "the owner's password")
        == 200);

  // Guesses spread over addresses are bounded by the per-email limit.
  CHECK(login_from(port, "127.0.0.3", "owner@example.com", "a wrong guess") == 401);
  CHECK(login_from(port, "127.0.0.4", "owner@example.com", "a wrong guess") == 401);
  // The owner's success cleared the email's count, so 2 of 5 are used;
  // three more from new addresses reach the limit.
  for (const auto* source : {"127.0.0.5", "127.0.0.6", "127.0.0.7"}) {
    CHECK(login_from(port, source, "owner@example.com", "a wrong guess") == 401);
  }
  CHECK(login_from(port, "127.0.0.8", "owner@example.com", "a wrong guess") == 429);
}

TEST_CASE("failed logins from one address across emails get 429") {
  gateway_fixture fx;
  fx.start({"security.login_max_failures=100",
            "security.login_max_failures_per_address=4"});
  auto http = fx.client();
  for (int i = 0; i < 4; ++i) {
    CHECK(login(http, "nobody" + std::to_string(i) + "@example.com",
                "password guess")
              .status == 401);
  }
  const auto blocked = login(http, "nobody9@example.com", "password guess");
  CHECK(blocked.status == 429);
  CHECK_FALSE(blocked.header("Retry-After").empty());
}

TEST_CASE("one account's dashboard requests are rate limited") {
  gateway_fixture fx;
  fx.start({"http.account_rate=1", "http.account_burst=3"});
  auto http = fx.client();
  const auto user = fx.signup("busy@example.com");
  const auto other = fx.signup("calm@example.com");
  const auto path = "/api/business/" + user.user_id;
  for (int i = 0; i < 3; ++i) {
    CHECK(http.get(path, user.token).status == 200);
  }
  const auto limited = http.get(path, user.token);
  CHECK(limited.status == 429);
  CHECK(code_of(limited) == "rate_limited");
  CHECK(limited.header("Retry-After") == "1");
  // Other accounts keep their own budget.
  CHECK(http.get("/api/business/" + other.user_id, other.token).status == 200);
}

TEST_CASE("slow request head is cut off") {
  gateway_fixture fx;
  // One HTTP thread: while the slow client occupies it, no other request
  // is served.
  fx.start({"http.threads=1", "http.read_timeout=500ms",
            "http.idle_timeout=10s"});
  raw_connection slow(fx.gateway->port());
  REQUIRE(slow.send("GET /healthz HTTP/1.1\r\nHost: gateway\r\n"));
  // One header line every 100 ms, well inside the 10 s idle timeout
  // between reads, for up to 8 s.
  const auto started = steady_clock::now();
  bool cut = false;
  for (int i = 0; i < 80 && !cut; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    cut = !slow.send("X-Drip-" + std::to_string(i) + ": x\r\n");
    if (!cut) {
      slow.read(milliseconds(1));
      cut = slow.closed;
    }
  }
  const auto elapsed = steady_clock::now() - started;
  CHECK(cut);
  // 500 ms and a check interval of 125 ms; the rest is slack for a
  // loaded machine.
  CHECK(elapsed < std::chrono::seconds(4));

  // The thread is free again.
  auto http = fx.client();
  CHECK(http.get("/healthz").status == 200);
  CHECK(metric(http, "skyiq_http_read_timeouts_total") == "1");
  CHECK(fx.gateway->log().find("connection-closed reason=read_timeout")
        != std::string::npos);
}

TEST_CASE("slow request body is cut off") {
  gateway_fixture fx;
  fx.start({"http.threads=1", "http.read_timeout=500ms"});
  raw_connection slow(fx.gateway->port());
  REQUIRE(slow.send("POST /api/auth/login HTTP/1.1\r\nHost: gateway\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: 1000\r\n\r\n{"));
  bool cut = false;
  for (int i = 0; i < 80 && !cut; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    cut = !slow.send(" ");
    if (!cut) {
      slow.read(milliseconds(1));
      cut = slow.closed;
    }
  }
  CHECK(cut);
  CHECK(fx.client().get("/healthz").status == 200);
}

TEST_CASE("whole requests survive long pauses") {
  gateway_fixture fx;
  fx.start({"http.read_timeout=300ms"});
  raw_connection client(fx.gateway->port());
  // Several requests on one connection, each sent whole, with pauses
  // longer than the read timeout between them but shorter than the idle
  // timeout: the deadline starts over after each response.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(client.send(healthz));
    const auto reply = client.read(milliseconds(3000));
    CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
    CHECK_FALSE(client.closed);
    std::this_thread::sleep_for(milliseconds(500));
  }
}

TEST_CASE("idle keep-alive connection is closed") {
  gateway_fixture fx;
  fx.start({"http.idle_timeout=500ms"});
  raw_connection idle(fx.gateway->port());
  REQUIRE(idle.send(healthz));
  CHECK(idle.read(milliseconds(3000)).rfind("HTTP/1.1 200", 0) == 0);
  const auto started = steady_clock::now();
  idle.read(milliseconds(5000));
  CHECK(idle.closed);
  CHECK(steady_clock::now() - started < std::chrono::seconds(4));
}

TEST_CASE("connections beyond the queue are refused") {
  gateway_fixture fx;
  fx.start({"http.threads=1", "http.max_queued=1", "http.idle_timeout=20s",
            "http.read_timeout=20s"});
  // The only thread serves this kept-alive connection.
  auto holder = std::make_unique<raw_connection>(fx.gateway->port());
  REQUIRE(holder->send(healthz));
  REQUIRE(holder->read(milliseconds(3000)).rfind("HTTP/1.1 200", 0) == 0);
  // This one waits in the queue.
  raw_connection queued(fx.gateway->port());
  REQUIRE(queued.send(healthz));
  CHECK(queued.read(milliseconds(300)).empty());
  CHECK_FALSE(queued.closed);
  // The queue is full, so this one is closed unanswered.
  raw_connection refused(fx.gateway->port());
  refused.send(healthz);
  CHECK(refused.read(milliseconds(3000)).empty());
  CHECK(refused.closed);
  // Once the thread is free, the queued connection is served.
  holder.reset();
  CHECK(queued.read(milliseconds(3000)).rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("oversized request heads get 431") {
  gateway_fixture fx;
  fx.start({"http.max_header_fields=8", "http.max_header_bytes=2048"});
  auto http = fx.client();
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 10; ++i) {
    many.emplace_back("X-Extra-" + std::to_string(i), "1");
  }
  const auto fields = http.send("GET", "/healthz", "", many);
  CHECK(fields.status == 431);
  CHECK(code_of(fields) == "headers_too_large");
  CHECK(json::parse(fields.body)["error"]["message"].get<std::string>().find(
          "over the limit of 8")
        != std::string::npos);

  const auto large =
    http.send("GET", "/healthz", "", {{"X-Large", std::string(3000, 'a')}});
  CHECK(large.status == 431);
  CHECK(json::parse(large.body)["error"]["message"].get<std::string>().find(
          "over the limit of 2048 bytes")
        != std::string::npos);

  // Within both limits.
  CHECK(http.send("GET", "/healthz", "", {{"X-Small", "a"}}).status == 200);
}

// Faults injected into the real gateway binary: a SQLite database locked
// by another connection, a full disk under the SQLite file, kill -9 during
// concurrent webhook load, and a second gateway on the same SQLite file.

#include "tests/e2e/fixture.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace skyiq::testing;

namespace {

std::string sqlite_path(const gateway_fixture& fx) {
  return fx.storage_url.substr(std::string("sqlite:").size());
}

/// A second connection to a SQLite file that holds the write lock
/// (BEGIN EXCLUSIVE) from construction until `release`.
class sqlite_write_lock {
public:
  explicit sqlite_write_lock(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) !=
        SQLITE_OK) {
      FAIL("cannot open " << path << ": " << sqlite3_errmsg(db_));
    }
    exec("BEGIN EXCLUSIVE");
    held_ = true;
  }

  ~sqlite_write_lock() {
    release();
    sqlite3_close(db_);
  }

  void release() {
    if (held_) {
      held_ = false;
      exec("ROLLBACK");
    }
  }

private:
  void exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string text = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      FAIL(sql << " failed: " << text);
    }
  }

  sqlite3* db_ = nullptr;
  bool held_ = false;
};

/// A tmpfs of `size_bytes` mounted on a new directory; needs
/// CAP_SYS_ADMIN (root). Detached on destruction, even while a process
/// still has files open on it.
class tmpfs_mount {
public:
  tmpfs_mount(const std::string& path, std::size_t size_bytes) : path_(path) {
    std::filesystem::create_directories(path_);
    const auto options = "size=" + std::to_string(size_bytes) + ",mode=0700";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      FAIL("cannot mount a tmpfs on " << path_ << ": " << std::strerror(errno)
                                      << "; the full-disk test needs root");
    }
  }

  ~tmpfs_mount() {
    ::umount2(path_.c_str(), MNT_DETACH);
  }

  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

/// Writes `path` until the file system has no byte left, and deletes it
/// on `remove` or destruction.
class disk_filler {
public:
  explicit disk_filler(const std::string& path) : path_(path) {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    std::vector<char> chunk(64 * 1024, 'x');
    for (std::size_t size = chunk.size(); size > 0; size /= 2) {
      while (::write(fd, chunk.data(), size) == static_cast<ssize_t>(size)) {
        written_ += size;
      }
    }
    ::close(fd);
  }

  ~disk_filler() {
    remove();
  }

  void remove() {
    ::unlink(path_.c_str());
  }

  std::size_t written() const {
    return written_;
  }

private:
  std::string path_;
  std::size_t written_ = 0;
};

/// Collects every call of `s` by CallSid, following nextCursor.
std::map<std::string, json> all_calls(gateway_fixture& fx, const session& s) {
  std::map<std::string, json> by_sid;
  std::string query = "?limit=200";
  for (int page = 0; page < 1000; ++page) {
    const auto body = fx.calls_of(s, query);
    for (const auto& call : body["calls"]) {
      by_sid[call["callSid"].get<std::string>()] = call;
    }
    if (body["nextCursor"].is_null()) {
      return by_sid;
    }
    query = "?limit=200&cursor=" + body["nextCursor"].get<std::string>();
  }
  FAIL("the call list did not end after 1000 pages");
  return by_sid;
}

// A record as the voice webhook of `send_voice` stores it, complete.
void check_complete_voice_record(const json& call, const twilio_account& t,
                                 const std::string& sid) {
  INFO(call.dump());
  CHECK(call["callSid"] == sid);
  CHECK(call["from"] == "+14155550100");
  CHECK(call["to"] == t.number);
  CHECK(call["direction"] == "inbound");
  CHECK(call["status"].is_string());
  CHECK(call["createdAt"].is_string());
}

std::vector<std::string> as_arguments(const std::vector<std::string>& sets) {
  std::vector<std::string> args;
  for (const auto& item : sets) {
    args.push_back("--set");
    args.push_back(item);
  }
  return args;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

TEST_CASE("locked SQLite delays, then refuses, writes") {
  gateway_fixture fx(storage_backend::sqlite);
  // The gateway gives SQLite's busy timeout 2/5 of storage.timeout: 800 ms.
  fx.start({"storage.timeout=2s"});
  const auto twilio = fx.add_twilio_account("+14155550700");
  const auto user = fx.connect("locked-fault@example.com", twilio);
  const auto first = random_call_sid();
  REQUIRE(fx.send_voice(twilio, first).status == 200);

  // A lock released within the busy timeout only delays the webhook.
  const auto delayed = random_call_sid();
  {
    sqlite_write_lock lock(sqlite_path(fx));
    std::thread release([&lock] {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      lock.release();
    });
    const auto reply = fx.send_voice(twilio, delayed);
    release.join();
    INFO(reply.body);
    CHECK(reply.status == 200);
  }

  // A lock held past storage.timeout refuses the voice webhook and a
  // status callback for an existing call.
  const auto refused = random_call_sid();
  auto http = fx.client();
  {
    sqlite_write_lock lock(sqlite_path(fx));
    const auto locked_at = std::chrono::steady_clock::now();
    const auto voice = fx.send_voice(twilio, refused);
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - locked_at;
    INFO(voice.body);
    CHECK(voice.status == 503);
    CHECK(voice.body.find("\"unavailable\"") != std::string::npos);
    // Twilio gives up on a voice webhook after 15 s.
    CHECK(took.count() < 5.0);
    const auto status =
        post_signed(http, "/api/twilio/status", public_base_url, twilio.token,
                    status_params(twilio.sid, first, "+14155550100",
                                  twilio.number, "completed", 2, 5));
    CHECK(status.status == 503);
    std::this_thread::sleep_until(locked_at + std::chrono::seconds(3));
  }
  // A write that gave up must not commit once the lock is gone; wait
  // longer than storage.timeout for one that would.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));

  auto calls = all_calls(fx, user);
  CHECK(calls.size() == 2);
  CHECK(calls.count(first) == 1);
  CHECK(calls.count(delayed) == 1);
  CHECK(calls.count(refused) == 0);
  {
    const auto& first_call = calls[first];
    INFO(first_call.dump());
    CHECK(first_call["status"] == "ringing");
    CHECK(first_call["durationSeconds"].is_null());
    CHECK(first_call["endedAt"].is_null());
  }

  // Twilio retries what got 503; each retry leaves exactly one record.
  CHECK(fx.send_voice(twilio, refused).status == 200);
  CHECK(post_signed(http, "/api/twilio/status", public_base_url, twilio.token,
                    status_params(twilio.sid, first, "+14155550100",
                                  twilio.number, "completed", 2, 5))
            .status == 204);
  calls = all_calls(fx, user);
  CHECK(calls.size() == 3);
  REQUIRE(calls.count(refused) == 1);
  check_complete_voice_record(calls[refused], twilio, refused);
  CHECK(calls[first]["status"] == "completed");
  CHECK(calls[first]["durationSeconds"] == 5);
}

TEST_CASE("full disk refuses webhooks, keeps records") {
  gateway_fixture fx(storage_backend::sqlite);
  tmpfs_mount disk(fx.dir.path() + "/disk", 8 * 1024 * 1024);
  fx.storage_url = "sqlite:" + disk.path() + "/gateway.db";
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550701");
  const auto user = fx.connect("full-disk@example.com", twilio);
  std::vector<std::string> stored;
  for (int i = 0; i < 10; ++i) {
    stored.push_back(random_call_sid());
    REQUIRE(fx.send_voice(twilio, stored.back()).status == 200);
  }

  disk_filler filler(disk.path() + "/filler");
  INFO("filler took " << filler.written() << " bytes");
  // The WAL file may still have room for a few commits; send until the
  // gateway refuses, then a few more.
  std::map<int, int> statuses;
  int refusals = 0;
  for (int i = 0; i < 300 && refusals < 5; ++i) {
    const auto sid = random_call_sid();
    const auto reply = fx.send_voice(twilio, sid);
    ++statuses[reply.status];
    if (reply.status == 200) {
      stored.push_back(sid);
    } else {
      INFO(reply.body);
      CHECK(reply.status == 503);
      CHECK(reply.body.find("\"unavailable\"") != std::string::npos);
      ++refusals;
    }
  }
  CHECK(refusals == 5);
  CHECK(statuses.count(500) == 0);
  // SQLite's message for SQLITE_FULL, so the refusals come from the disk.
  CHECK(fx.gateway->log().find("database or disk is full") !=
        std::string::npos);

  // Records acknowledged with 200 before and during the full disk are all
  // there, both while the disk is full and after space returns.
  auto calls = all_calls(fx, user);
  for (const auto& sid : stored) {
    CHECK(calls.count(sid) == 1);
  }
  CHECK(calls.size() == stored.size());
  filler.remove();
  const auto after = random_call_sid();
  CHECK(fx.send_voice(twilio, after).status == 200);
  stored.push_back(after);
  CHECK(fx.gateway->terminate() == 0);
  fx.start();
  calls = all_calls(fx, user);
  CHECK(calls.size() == stored.size());
  for (const auto& sid : stored) {
    REQUIRE(calls.count(sid) == 1);
    check_complete_voice_record(calls[sid], twilio, sid);
  }
  std::cout << "faults: full disk, " << stored.size() - 11
            << " webhooks answered 200 while the disk filled, " << refusals
            << " answered 503\n";
  fx.gateway.reset();
}

TEST_CASE("kill -9 under webhook load loses nothing") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550702");
  const auto user = fx.connect("kill-fault@example.com", twilio);

  struct outcome {
    std::string sid;
    int voice = 0;
    int status = 0;
  };
  constexpr int senders = 4;
  std::atomic<bool> stop{false};
  std::vector<std::vector<outcome>> outcomes(senders);
  const auto port = fx.gateway->port();
  std::vector<std::thread> threads;
  for (int t = 0; t < senders; ++t) {
    threads.emplace_back([&, t] {
      http_client http(port);
      while (!stop.load()) {
        outcome o;
        o.sid = random_call_sid();
        try {
          o.voice = post_signed(http, "/api/twilio/webhook", public_base_url,
                                twilio.token,
                                voice_params(twilio.sid, o.sid, "+14155550100",
                                             twilio.number))
                        .status;
          if (o.voice == 200) {
            o.status =
                post_signed(http, "/api/twilio/status", public_base_url,
                            twilio.token,
                            status_params(twilio.sid, o.sid, "+14155550100",
                                          twilio.number, "completed", 3, 7))
                    .status;
          }
        } catch (const std::exception&) {
          // No response: the gateway died with this request in flight.
        }
        outcomes[t].push_back(o);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  fx.gateway->kill_hard();
  stop = true;
  for (auto& thread : threads) {
    thread.join();
  }

  fx.start();
  const auto calls = all_calls(fx, user);
  std::size_t answered = 0;
  std::size_t completed = 0;
  std::size_t lost_records = 0;
  std::size_t lost_updates = 0;
  std::size_t unanswered_stored = 0;
  for (const auto& per_thread : outcomes) {
    for (const auto& o : per_thread) {
      const auto found = calls.find(o.sid);
      if (o.voice == 200) {
        ++answered;
        lost_records += found == calls.end();
      } else if (found != calls.end()) {
        ++unanswered_stored;
      }
      if (o.status == 204) {
        ++completed;
        lost_updates +=
            found == calls.end() || found->second["status"] != "completed";
      }
      if (o.voice != 0 && o.voice != 200) {
        FAIL_CHECK("webhook " << o.sid << " answered " << o.voice);
      }
    }
  }
  CHECK(answered > 0);
  CHECK(lost_records == 0);
  CHECK(lost_updates == 0);
  std::cout << "faults: kill -9 under " << senders << " senders, " << answered
            << " webhooks answered 200, " << completed
            << " status callbacks answered 204, " << lost_records
            << " records lost, " << lost_updates << " updates lost, "
            << unanswered_stored << " unanswered webhooks stored anyway\n";
}

TEST_CASE("second gateway on one SQLite file exits") {
  gateway_fixture fx(storage_backend::sqlite);
  fx.start();
  const auto log = fx.dir.path() + "/second.log";
  const auto started = std::chrono::steady_clock::now();
  const int status = run_gateway_to_exit(log, as_arguments(fx.overrides()),
                                         std::chrono::seconds(20));
  const std::chrono::duration<double> took =
      std::chrono::steady_clock::now() - started;
  const auto text = file_text(log);
  INFO(text);
  CHECK(status != -1);
  CHECK(status != 0);
  // An exit code, not a signal such as a crash.
  CHECK(status < 128);
  CHECK(took.count() < 10.0);
  CHECK(text.find("in use by another gateway process") != std::string::npos);
  CHECK(text.find(std::to_string(fx.gateway->pid())) != std::string::npos);
  CHECK(text.find("http-listening") == std::string::npos);

  // The first gateway keeps serving.
  CHECK(fx.client().get("/readyz").status == 200);
  const auto twilio = fx.add_twilio_account("+14155550703");
  const auto user = fx.connect("second-gateway@example.com", twilio);
  CHECK(fx.send_voice(twilio, random_call_sid()).status == 200);
  CHECK(fx.calls_of(user)["calls"].size() == 1);
}

TEST_CASE("gateway with another master key exits") {
  gateway_fixture fx(storage_backend::sqlite);
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550704");
  const auto user = fx.connect("master-key@example.com", twilio);
  CHECK(fx.send_voice(twilio, random_call_sid()).status == 200);
  REQUIRE(fx.gateway->terminate() == 0);

  const auto stray = fx.dir.path() + "/stray.key";
  {
    std::ofstream out(stray);
    out << std::string(64, 'c') << "\n";
  }
  REQUIRE(::chmod(stray.c_str(), 0600) == 0);
  auto overrides = fx.overrides();
  overrides.push_back("security.master_key_file=" + stray);
  const auto log = fx.dir.path() + "/stray.log";
  const int status = run_gateway_to_exit(log, as_arguments(overrides),
                                         std::chrono::seconds(20));
  const auto text = file_text(log);
  INFO(text);
  CHECK(status > 0);
  CHECK(status < 128);
  CHECK(text.find("master-key-mismatch") != std::string::npos);
  CHECK(text.find("security.master_key_file '" + stray + "'")
        != std::string::npos);
  CHECK(text.find(std::string(64, 'c')) == std::string::npos);
  CHECK(text.find("http-listening") == std::string::npos);

  // With its own key the gateway serves the account as before.
  fx.start();
  CHECK(fx.send_voice(twilio, random_call_sid()).status == 200);
  CHECK(fx.calls_of(user)["calls"].size() == 2);
}

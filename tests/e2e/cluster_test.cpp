// End-to-end on PostgreSQL only: several gateway nodes on one database
// that share out the accounts. Covers failover when a node is killed, the
// fencing of a node that was stopped while its lease moved, and requests
// that any node forwards to the account's owner.

#include "tests/e2e/cluster_support.hpp"
#include "tests/e2e/probes.hpp"

#include "actors/cluster/message_types.hpp"
#include "actors/messages.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

using namespace skyiq::testing;

namespace {

using clock_type = std::chrono::steady_clock;
using seconds_double = std::chrono::duration<double>;

/// Cluster settings of the failover tests: a lease lapses 2 s after its
/// owner's last renewal, and nodes renew every 500 ms.
const std::vector<std::string> fast_failover = {
    "cluster.lease_ttl=2s", "cluster.heartbeat_interval=500ms",
    "cluster.tls=false"};

/// A Twilio account connected to a Sky IQ account.
struct connected_account {
  twilio_account twilio;
  session user;
};

/// One voice webhook and its outcome. Load threads only record these
/// because Catch2 v2 assertions are not thread-safe, and the test checks
/// them after the threads end.
struct sent_webhook {
  /// Index of the account in the test's list.
  std::size_t account = 0;
  /// Index of the node the webhook was sent to.
  std::size_t node = 0;
  std::string call_sid;
  int status = 0;
  std::string body;
  /// What the client threw, when the request did not complete.
  std::string failure;
  clock_type::time_point sent_at;
  clock_type::time_point answered_at;
};

std::vector<connected_account> connect_accounts(gateway_cluster& cluster,
                                                std::size_t count) {
  std::vector<connected_account> accounts;
  for (std::size_t i = 0; i < count; ++i) {
    auto twilio =
        cluster.fx.add_twilio_account("+1415555" + std::to_string(2000 + i));
    auto user = cluster.fx.connect("owner" + std::to_string(i) + "@example.com",
                                   twilio);
    accounts.push_back({twilio, user});
  }
  return accounts;
}

// Waits until the cluster_nodes table lists every node of `cluster` and
// every node reports a live link to each of the others in /metrics. Only
// then do all nodes agree on the owner of an account.
void require_formed(gateway_cluster& cluster) {
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    expected.push_back(cluster.name(i));
  }
  const bool registered =
      eventually([&] { return cluster.registered_nodes() == expected; },
                 std::chrono::seconds(10));
  REQUIRE(registered);

  const auto peers = static_cast<double>(cluster.size() - 1);
  for (std::size_t node = 0; node < cluster.size(); ++node) {
    INFO(cluster.name(node) << " log:\n" << cluster.process(node).log());
    const bool linked = eventually(
        [&] {
          const auto metrics = cluster.client(node).get("/metrics").body;
          return metric_value(metrics, "skyiq_cluster_linked_peers") == peers;
        },
        std::chrono::seconds(10));
    REQUIRE(linked);
  }
}

std::vector<std::uint16_t> http_ports(gateway_cluster& cluster) {
  std::vector<std::uint16_t> ports;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    ports.push_back(cluster.process(i).port());
  }
  return ports;
}

sent_webhook
send_webhook(std::uint16_t port, std::size_t node,
             const connected_account& account, std::size_t account_index,
             std::chrono::seconds timeout = std::chrono::seconds(10)) {
  sent_webhook sent;
  sent.account = account_index;
  sent.node = node;
  sent.call_sid = random_call_sid();
  sent.sent_at = clock_type::now();
  try {
    http_client http(port, timeout);
    const auto reply = post_signed(
        http, "/api/twilio/webhook", public_base_url, account.twilio.token,
        voice_params(account.twilio.sid, sent.call_sid, "+14155550100",
                     account.twilio.number));
    sent.status = reply.status;
    sent.body = reply.body;
  } catch (const std::exception& e) {
    sent.failure = e.what();
  }
  sent.answered_at = clock_type::now();
  return sent;
}

// Sends webhooks of `account` to `node` every 100 ms until one gets a 200
// response or `deadline` passes. Returns every webhook sent.
std::vector<sent_webhook>
send_until_served(const std::vector<std::uint16_t>& ports, std::size_t node,
                  const connected_account& account, std::size_t account_index,
                  clock_type::time_point deadline) {
  std::vector<sent_webhook> sent;
  while (clock_type::now() < deadline) {
    sent.push_back(send_webhook(ports[node], node, account, account_index));
    if (sent.back().status == 200) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return sent;
}

// Returns every call of `user` through `http`, following nextCursor.
std::vector<json> all_calls(http_client http, const session& user) {
  std::vector<json> calls;
  std::string query = "?limit=200";
  for (int page = 0; page < 100; ++page) {
    const auto reply =
        http.get("/api/calls/user/" + user.user_id + query, user.token);
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

std::map<std::string, int> records_by_sid(const std::vector<call_row>& rows) {
  std::map<std::string, int> counts;
  for (const auto& row : rows) {
    ++counts[row.call_sid];
  }
  return counts;
}

std::string describe(const sent_webhook& sent) {
  const seconds_double took = sent.answered_at - sent.sent_at;
  return "account " + std::to_string(sent.account) + " via gw-" +
         std::to_string(sent.node + 1) + " " + sent.call_sid + ": " +
         std::to_string(sent.status) + " after " +
         std::to_string(took.count()) + " s " + sent.failure + sent.body;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) {
    text += line + "\n";
  }
  return text;
}

// Returns the lines of `log` that contain `text`, at most the last 40.
std::string lines_with(const std::string& log, const std::string& text) {
  std::vector<std::string> found;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(text) != std::string::npos) {
      found.push_back(line);
    }
  }
  if (found.size() > 40) {
    found.erase(found.begin(), found.end() - 40);
  }
  return join_lines(found);
}

// Returns the sessions of `database`, other than this one, that are in a
// transaction: their state, its age and their last statement.
std::vector<std::string> open_transactions(const postgres_database& database) {
  return database.query(
      "SELECT concat_ws(' ', state, now() - xact_start, query)"
      " FROM pg_stat_activity WHERE datname = current_database()"
      " AND xact_start IS NOT NULL AND pid <> pg_backend_pid()");
}

bool has_event(const std::string& log, const std::string& event,
               const std::map<std::string, std::string>& fields) {
  for (const auto& found : log_events(log, event)) {
    const bool matches =
        std::all_of(fields.begin(), fields.end(), [&](const auto& field) {
          const auto value = found.find(field.first);
          return value != found.end() && value->second == field.second;
        });
    if (matches) {
      return true;
    }
  }
  return false;
}

void check_single_ownership(const std::vector<call_row>& rows) {
  const auto breaches = find_lease_breaches(rows);
  INFO("rows without a lease:\n" << join_lines(breaches.unfenced));
  CHECK(breaches.unfenced.empty());
  INFO("epochs with two writers:\n" << join_lines(breaches.shared_epochs));
  CHECK(breaches.shared_epochs.empty());
  INFO("epochs that went down:\n" << join_lines(breaches.falling_epochs));
  CHECK(breaches.falling_epochs.empty());
}

} // namespace

namespace {

constexpr std::size_t load_threads = 4;

// Sends webhooks of every account to gw-2 and gw-3 from `load_threads`
// threads, one every 20 ms per thread and at most 400 per thread. Kills
// node `victim` with SIGKILL 1.5 s in and goes on for 6 s after the kill.
// A thread whose node was killed sends to the other one from then on.
// Appends what was sent to `sent` and returns the time of the kill.
clock_type::time_point
load_and_kill(gateway_cluster& cluster, const std::vector<std::uint16_t>& ports,
              const std::vector<connected_account>& accounts,
              std::size_t victim, std::vector<sent_webhook>& sent) {
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> dead{ports.size()};
  std::vector<std::vector<sent_webhook>> lists(load_threads);
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < load_threads; ++t) {
    workers.emplace_back([&, t] {
      for (std::size_t n = 0; n < 400 && !stop; ++n) {
        const auto account = (t + n) % accounts.size();
        std::size_t node = 1 + t % 2;
        if (node == dead) {
          node = node == 1 ? 2 : 1;
        }
        lists[t].push_back(
            send_webhook(ports[node], node, accounts[account], account));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }

  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  dead = victim;
  const auto kill_at = clock_type::now();
  cluster.process(victim).kill_hard();
  std::this_thread::sleep_until(kill_at + std::chrono::seconds(6));
  stop = true;
  for (auto& worker : workers) {
    worker.join();
  }
  for (const auto& list : lists) {
    sent.insert(sent.end(), list.begin(), list.end());
  }
  return kill_at;
}

// Returns the first webhook of account `account` sent at or after `since`
// that got a 200 response, or null.
const sent_webhook* first_served(const std::vector<sent_webhook>& sent,
                                 std::size_t account,
                                 clock_type::time_point since) {
  const sent_webhook* first = nullptr;
  for (const auto& item : sent) {
    if (item.account == account && item.status == 200 &&
        item.sent_at >= since &&
        (first == nullptr || item.answered_at < first->answered_at)) {
      first = &item;
    }
  }
  return first;
}

} // namespace

TEST_CASE("killed node's accounts move to a survivor") {
  gateway_cluster cluster(3, fast_failover);
  require_formed(cluster);
  const auto accounts = connect_accounts(cluster, 6);
  const auto ports = http_ports(cluster);
  auto& database = *cluster.fx.postgres;

  // A first webhook through gw-2 and gw-3 activates each account, which
  // creates its lease.
  std::vector<sent_webhook> sent;
  for (std::size_t a = 0; a < accounts.size(); ++a) {
    for (const std::size_t node : {1, 2}) {
      const auto tries =
          send_until_served(ports, node, accounts[a], a,
                            clock_type::now() + std::chrono::seconds(10));
      REQUIRE(!tries.empty());
      INFO(describe(tries.back()));
      REQUIRE(tries.back().status == 200);
      sent.insert(sent.end(), tries.begin(), tries.end());
    }
  }
  std::vector<lease_row> leases;
  for (const auto& account : accounts) {
    const auto lease = lease_of(database, account.user.user_id);
    REQUIRE(lease.has_value());
    leases.push_back(*lease);
  }

  // gw-1 gets no load of its own, so killing it loses no request in
  // transit. Another owner is the victim only when gw-1 owns no account.
  // NOTE: that happens in about 9% of runs ((2/3)^6 if the 6 accounts
  // spread evenly), so the branch where the victim receives load is rare.
  const auto on_first =
      std::find_if(leases.begin(), leases.end(), [&](const lease_row& lease) {
        return lease.owner_node == "gw-1";
      });
  const auto victim_name = on_first != leases.end() ? on_first->owner_node
                                                    : leases.front().owner_node;
  const auto victim_index = cluster.index_of(victim_name);
  REQUIRE(victim_index.has_value());
  const std::size_t victim = *victim_index;
  const std::size_t survivor_target = victim == 1 ? 2 : 1;
  std::vector<std::size_t> moved;
  for (std::size_t a = 0; a < accounts.size(); ++a) {
    if (leases[a].owner_node == victim_name) {
      moved.push_back(a);
    }
  }

  const auto load_start = sent.size();
  const auto load_began = clock_type::now();
  const auto kill_at = load_and_kill(cluster, ports, accounts, victim, sent);
  const seconds_double load_took = clock_type::now() - load_began;
  const auto load_end = sent.size();
  // An account not yet served again when the load stopped gets more
  // webhooks, until 12 s after the kill.
  for (const auto a : moved) {
    if (first_served(sent, a, kill_at) == nullptr) {
      const auto tries =
          send_until_served(ports, survivor_target, accounts[a], a,
                            kill_at + std::chrono::seconds(12));
      sent.insert(sent.end(), tries.begin(), tries.end());
    }
  }

  std::size_t answered = 0;
  std::size_t unavailable = 0;
  std::size_t in_transit = 0;
  seconds_double slowest{0};
  std::vector<std::string> other_replies;
  std::vector<std::string> unavailable_elsewhere;
  for (auto i = load_start; i < load_end; ++i) {
    const auto& item = sent[i];
    const bool was_moved =
        std::find(moved.begin(), moved.end(), item.account) != moved.end();
    if (item.status == 200) {
      ++answered;
      slowest =
          std::max(slowest, seconds_double(item.answered_at - item.sent_at));
    } else if (!item.failure.empty()) {
      ++in_transit;
    } else if (item.status == 503 && error_code(item.body) == "unavailable") {
      ++unavailable;
      if (!was_moved) {
        unavailable_elsewhere.push_back(describe(item));
      }
    } else {
      other_replies.push_back(describe(item));
    }
  }
  std::cout << "cluster failover: killed " << victim_name << " owning "
            << moved.size() << " of " << accounts.size() << " accounts; "
            << load_end - load_start << " webhooks in " << load_took.count()
            << " s: " << answered << " answered 200, " << unavailable
            << " answered 503, " << in_transit
            << " failed in transit; slowest 200 took " << slowest.count()
            << " s\n";
  INFO("replies other than 200 and 503 unavailable:\n"
       << join_lines(other_replies));
  CHECK(other_replies.empty());
  INFO("503s for accounts the killed node did not own:\n"
       << join_lines(unavailable_elsewhere));
  CHECK(unavailable_elsewhere.empty());
  // Only a request in transit to the killed node can fail. There are at
  // most as many of those as threads, and none when no thread sent to it.
  CHECK(in_transit <= (victim == 0 ? 0 : load_threads));

  // Each account of the killed node is served again within the bound.
  for (const auto a : moved) {
    INFO("account " << a << " " << accounts[a].user.user_id);
    const auto* first = first_served(sent, a, kill_at);
    REQUIRE(first != nullptr);
    const seconds_double gap = first->answered_at - kill_at;
    std::cout << "cluster failover: account " << a << " served again "
              << gap.count() << " s after the kill\n";
    CHECK(gap.count() <= 8.0);
  }

  // Every webhook that got a 200 response has exactly one record.
  const auto rows = call_rows(database);
  const auto records = records_by_sid(rows);
  std::vector<std::string> missing;
  std::vector<std::string> repeated;
  for (const auto& item : sent) {
    const auto found = records.find(item.call_sid);
    const int count = found == records.end() ? 0 : found->second;
    if (item.status == 200 && count == 0) {
      missing.push_back(describe(item));
    }
    if (count > 1) {
      repeated.push_back(describe(item));
    }
  }
  INFO("answered 200 without a record:\n" << join_lines(missing));
  CHECK(missing.empty());
  INFO("recorded more than once:\n" << join_lines(repeated));
  CHECK(repeated.empty());
  check_single_ownership(rows);

  // The accounts of the killed node now belong to a survivor, under a
  // higher epoch, which the first record after the kill names.
  for (const auto a : moved) {
    INFO("account " << a << " " << accounts[a].user.user_id);
    const auto lease = lease_of(database, accounts[a].user.user_id);
    REQUIRE(lease.has_value());
    CHECK(lease->owner_node != victim_name);
    CHECK(lease->epoch > leases[a].epoch);
    const auto* first = first_served(sent, a, kill_at);
    REQUIRE(first != nullptr);
    const auto row = std::find_if(rows.begin(), rows.end(), [&](auto& r) {
      return r.call_sid == first->call_sid;
    });
    REQUIRE(row != rows.end());
    CHECK(row->lease_node != victim_name);
    CHECK(row->lease_epoch.value_or(-1) > leases[a].epoch);
    const auto owner = cluster.index_of(lease->owner_node);
    REQUIRE(owner.has_value());
    CHECK(has_event(cluster.process(*owner).log(), "lease-acquired",
                    {{"account_id", accounts[a].user.user_id},
                     {"epoch", std::to_string(lease->epoch)},
                     {"node", lease->owner_node}}));

    // The dashboard of a survivor lists once each webhook that got a 200.
    const auto calls =
        all_calls(cluster.client(survivor_target), accounts[a].user);
    std::map<std::string, int> listed;
    for (const auto& call : calls) {
      ++listed[call["callSid"].get<std::string>()];
    }
    std::size_t unlisted = 0;
    for (const auto& item : sent) {
      if (item.account == a && item.status == 200 &&
          listed[item.call_sid] != 1) {
        ++unlisted;
      }
    }
    CHECK(unlisted == 0);
  }

  for (std::size_t node = 0; node < cluster.size(); ++node) {
    if (node != victim) {
      INFO(cluster.name(node) << " log:\n" << cluster.process(node).log());
      CHECK(eventually(
          [&] {
            return has_event(cluster.process(node).log(), "peer-down",
                             {{"node", victim_name}});
          },
          std::chrono::seconds(5)));
    }
  }
}

TEST_CASE("stopped node's late write is fenced") {
  gateway_cluster cluster(2, fast_failover);
  require_formed(cluster);
  const auto accounts = connect_accounts(cluster, 1);
  const auto& account = accounts.front();
  const auto& account_id = account.user.user_id;
  const auto ports = http_ports(cluster);
  auto& database = *cluster.fx.postgres;
  const auto first = send_until_served(
      ports, 1, account, 0, clock_type::now() + std::chrono::seconds(10));
  REQUIRE(!first.empty());
  REQUIRE(first.back().status == 200);
  const auto before = lease_of(database, account_id);
  REQUIRE(before.has_value());
  const auto owner_index = cluster.index_of(before->owner_node);
  REQUIRE(owner_index.has_value());
  const std::size_t owner = *owner_index;
  const std::size_t other = 1 - owner;

  // The other node forwards to the stopped owner until its lease lapses,
  // then takes the account over.
  pause_guard paused(cluster.process(owner).pid());
  REQUIRE(paused.stopped());
  const auto paused_at = clock_type::now();
  const auto tries = send_until_served(ports, other, account, 0,
                                       paused_at + std::chrono::seconds(20));
  REQUIRE(!tries.empty());
  INFO(describe(tries.back()));
  INFO("open transactions:\n" << join_lines(open_transactions(database)));
  REQUIRE(tries.back().status == 200);
  const seconds_double moved_after = tries.back().answered_at - paused_at;
  std::cout << "cluster fencing: " << cluster.name(other)
            << " served the account " << moved_after.count()
            << " s after SIGSTOP of " << before->owner_node << ", after "
            << tries.size() - 1 << " webhooks not answered 200\n";
  const auto after = lease_of(database, account_id);
  REQUIRE(after.has_value());
  CHECK(after->owner_node == cluster.name(other));
  CHECK(after->epoch > before->epoch);

  // A webhook sent right after SIGCONT reaches the resumed node while its
  // lease belongs to the other node.
  paused.resume();
  const auto late = send_webhook(ports[owner], owner, account, 0);
  INFO(describe(late));
  INFO(cluster.name(owner) << " log of the account:\n"
                           << lines_with(cluster.process(owner).log(),
                                         account_id));
  INFO(cluster.name(other) << " log of the account:\n"
                           << lines_with(cluster.process(other).log(),
                                         account_id));
  // The resumed node's write under its old epoch is refused. The request
  // then gets 503, or it waits until the account is served again and gets
  // 200 with a record written under a newer epoch, never the old one.
  CHECK(late.failure.empty());
  const auto rows = call_rows(database);
  const auto late_row = std::find_if(rows.begin(), rows.end(), [&](auto& row) {
    return row.call_sid == late.call_sid;
  });
  if (late.status == 200) {
    REQUIRE(late_row != rows.end());
    CHECK(late_row->lease_epoch.value_or(-1) > after->epoch);
  } else {
    CHECK(late.status == 503);
    CHECK(error_code(late.body) == "unavailable");
    CHECK(late_row == rows.end());
  }
  const bool fenced = has_event(cluster.process(owner).log(), "write-fenced",
                                {{"account_id", account_id}});
  std::cout << "cluster fencing: the late webhook to " << cluster.name(owner)
            << " got " << late.status << "; write-fenced logged: "
            << (fenced ? "yes" : "no") << "\n";

  // The takeover's record carries the new owner and its epoch.
  const auto moved = std::find_if(rows.begin(), rows.end(), [&](auto& row) {
    return row.call_sid == tries.back().call_sid;
  });
  REQUIRE(moved != rows.end());
  CHECK(moved->lease_node == cluster.name(other));
  CHECK(moved->lease_epoch.value_or(-1) == after->epoch);

  // Once it has caught up, the resumed node serves the account again,
  // itself or through the owner, and its late write stays refused.
  const auto rejoined = send_until_served(
      ports, owner, account, 0, clock_type::now() + std::chrono::seconds(10));
  REQUIRE(!rejoined.empty());
  INFO(describe(rejoined.back()));
  CHECK(rejoined.back().status == 200);
  const auto final_rows = call_rows(database);
  const auto late_records = records_by_sid(final_rows);
  const auto late_count = late_records.count(late.call_sid) == 0
                              ? 0
                              : late_records.at(late.call_sid);
  CHECK(late_count == (late.status == 200 ? 1 : 0));
  check_single_ownership(final_rows);
}

namespace {

// Joins its threads on destruction, after setting `stop`, so that a failed
// REQUIRE does not destroy a joinable std::thread.
struct joined_threads {
  explicit joined_threads(std::atomic<bool>& stop_flag) : stop(stop_flag) {}
  ~joined_threads() {
    join();
  }

  void join() {
    stop = true;
    for (auto& thread : threads) {
      if (thread.joinable()) {
        thread.join();
      }
    }
  }

  std::atomic<bool>& stop;
  std::vector<std::thread> threads;
};

// Returns the number of sessions of `database` that wait for their client
// inside a transaction.
std::size_t idle_in_transaction(const postgres_database& database) {
  const auto rows =
      database.query("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                     " current_database() AND state = 'idle in transaction'");
  return rows.empty() ? 0 : std::stoul(rows.front());
}

} // namespace

TEST_CASE("owner stopped mid-write loses the account") {
  gateway_cluster cluster(2, fast_failover);
  require_formed(cluster);
  const auto accounts = connect_accounts(cluster, 1);
  const auto& account = accounts.front();
  const auto ports = http_ports(cluster);
  auto& database = *cluster.fx.postgres;
  auto sent = send_until_served(ports, 1, account, 0,
                                clock_type::now() + std::chrono::seconds(10));
  REQUIRE(!sent.empty());
  REQUIRE(sent.back().status == 200);
  const auto before = lease_of(database, account.user.user_id);
  REQUIRE(before.has_value());
  const auto owner_index = cluster.index_of(before->owner_node);
  REQUIRE(owner_index.has_value());
  const std::size_t owner = *owner_index;
  const std::size_t other = 1 - owner;

  // Webhooks sent straight to the owner keep its writer in a transaction
  // much of the time. Each thread sends at most 300, each given up on
  // after 2 s.
  std::atomic<bool> stop{false};
  std::vector<std::vector<sent_webhook>> lists(load_threads);
  joined_threads workers(stop);
  for (std::size_t t = 0; t < load_threads; ++t) {
    workers.threads.emplace_back([&, t] {
      for (int n = 0; n < 300 && !stop; ++n) {
        lists[t].push_back(send_webhook(ports[owner], owner, account, 0,
                                        std::chrono::seconds(2)));
      }
    });
  }

  // Stops the owner until it is caught with a transaction open. The other
  // node gets no requests, so an idle transaction is the owner's. A stop
  // of 20 ms lets a statement already sent finish on the server.
  std::optional<pause_guard> paused;
  bool caught = false;
  for (int attempt = 0; attempt < 50 && !caught; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    paused.emplace(cluster.process(owner).pid());
    REQUIRE(paused->stopped());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    caught = idle_in_transaction(database) > 0;
    if (!caught) {
      paused.reset();
    }
  }
  REQUIRE(caught);

  // The stopped owner's open transaction must not keep the other node
  // from taking the account over once the lease lapses.
  const auto paused_at = clock_type::now();
  const auto tries = send_until_served(ports, other, account, 0,
                                       paused_at + std::chrono::seconds(12));
  REQUIRE(!tries.empty());
  const seconds_double moved_after = tries.back().answered_at - paused_at;
  std::cout << "cluster fencing: " << cluster.name(other) << " answered "
            << tries.back().status << " " << moved_after.count()
            << " s after SIGSTOP of " << before->owner_node
            << " inside a transaction, after " << tries.size() - 1
            << " webhooks not answered 200\n";
  INFO(describe(tries.back()));
  INFO("open transactions:\n" << join_lines(open_transactions(database)));
  CHECK(tries.back().status == 200);
  CHECK(moved_after.count() <= 8.0);

  paused.reset();
  workers.join();
  sent.insert(sent.end(), tries.begin(), tries.end());
  for (const auto& list : lists) {
    sent.insert(sent.end(), list.begin(), list.end());
  }
  const auto rows = call_rows(database);
  const auto records = records_by_sid(rows);
  std::size_t missing_or_repeated = 0;
  for (const auto& item : sent) {
    const auto found = records.find(item.call_sid);
    if (item.status == 200 && (found == records.end() || found->second != 1)) {
      ++missing_or_repeated;
    }
  }
  CHECK(missing_or_repeated == 0);
  check_single_ownership(rows);
}

TEST_CASE("both nodes serve the same dashboard") {
  gateway_cluster cluster(2, {"cluster.tls=false"});
  for (std::size_t node = 0; node < cluster.size(); ++node) {
    const auto log = cluster.process(node).log();
    INFO(cluster.name(node) << " log:\n" << log);
    auto lines = log_events(log, "cluster-listening");
    REQUIRE(lines.size() == 1);
    CHECK(lines.front()["node"] == cluster.name(node));
    CHECK(lines.front()["host"] == "127.0.0.1");
    CHECK(lines.front()["port"] != "0");
    CHECK(lines.front()["tls"] == "false");
    CHECK(log.find("cluster-listening") < log.find("http-listening"));
  }
  require_formed(cluster);
  const auto accounts = connect_accounts(cluster, 1);
  const auto& twilio = accounts.front().twilio;
  const auto& user = accounts.front().user;
  auto first = cluster.client(0);
  auto second = cluster.client(1);

  const auto update = second.post_json(
      "/api/business/" + user.user_id,
      json{{"businessName", "Two Node Bakery"}}.dump(), user.token);
  INFO(update.body);
  REQUIRE(update.status == 200);
  const auto profile_first =
      first.get("/api/business/" + user.user_id, user.token);
  const auto profile_second =
      second.get("/api/business/" + user.user_id, user.token);
  INFO(profile_first.body);
  INFO(profile_second.body);
  CHECK(profile_first.status == 200);
  CHECK(profile_second.status == 200);
  CHECK(profile_first.body == profile_second.body);
  CHECK(json::parse(profile_first.body)["businessName"] == "Two Node Bakery");

  const auto sid = random_call_sid();
  const auto voice =
      post_signed(second, "/api/twilio/webhook", public_base_url, twilio.token,
                  voice_params(twilio.sid, sid, "+14155550100", twilio.number));
  INFO(voice.body);
  CHECK(voice.status == 200);
  const auto calls_first = all_calls(first, user);
  const auto calls_second = all_calls(second, user);
  REQUIRE(calls_first.size() == 1);
  CHECK(calls_first.front()["callSid"] == sid);
  CHECK(calls_first == calls_second);
}

TEST_CASE("second process with a live node's name exits") {
  gateway_cluster cluster(2, fast_failover);
  require_formed(cluster);
  auto overrides = cluster.fx.overrides();
  overrides.insert(overrides.end(), fast_failover.begin(),
                   fast_failover.end());
  overrides.push_back("cluster.node_name=gw-2");
  overrides.push_back("cluster.listen=127.0.0.1:0");
  const auto log_file = cluster.fx.dir.path() + "/duplicate.log";
  std::vector<std::string> args;
  for (const auto& item : overrides) {
    args.push_back("--set");
    args.push_back(item);
  }
  const int status =
      run_gateway_to_exit(log_file, args, std::chrono::seconds(20));
  std::ifstream in(log_file);
  const std::string log((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  INFO(log);
  CHECK(status == 1);
  CHECK(log.find("cluster-start-failed") != std::string::npos);
  CHECK(log.find("is in use by a live gateway node") != std::string::npos);

  // The running gw-2 keeps its row and its link.
  const auto rows = cluster.fx.postgres->query(
      "SELECT address FROM cluster_nodes WHERE name = 'gw-2'");
  REQUIRE(rows.size() == 1);
  CHECK(rows.front() ==
        "127.0.0.1:" + std::to_string(cluster.cluster_port(1)));
}

namespace {

// A node agent in the test process that replies to a peer's hello and
// ignores everything else.
class stand_in_agent : public caf::event_based_actor {
public:
  using caf::event_based_actor::event_based_actor;

  caf::behavior make_behavior() override {
    return {
        [](skyiq::actors::hello_atom, const std::string&, const caf::actor&) {
          return std::string("gw-1");
        },
    };
  }
};

} // namespace

TEST_CASE("one-sided link drop heals") {
  gateway_cluster cluster(2, fast_failover);
  require_formed(cluster);
  const auto accounts = connect_accounts(cluster, 10);
  const auto ports = http_ports(cluster);
  std::optional<std::size_t> owned_by_first;
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    const auto sent = send_webhook(ports[0], 0, accounts[i], i);
    INFO(describe(sent));
    REQUIRE(sent.status == 200);
    const auto lease = lease_of(*cluster.fx.postgres, accounts[i].user.user_id);
    REQUIRE(lease);
    if (lease->owner_node == "gw-1") {
      owned_by_first = i;
    }
  }
  // Rendezvous hashing puts each account on gw-1 with probability 1/2, so
  // ten accounts leave gw-1 without one in 1 of 1,024 runs.
  REQUIRE(owned_by_first);

  // A stray process greets gw-2 under gw-1's name and exits, so gw-2
  // drops its link to gw-1 while gw-1 still counts its own link as live.
  // gw-1's name sorts first, so only gw-1 would open that link again.
  {
    caf::actor_system_config config;
    config.load<caf::io::middleman>();
    skyiq::cluster::add_message_types(config);
    caf::actor_system system(config);
    auto agent =
        system.middleman().remote_actor("127.0.0.1", cluster.cluster_port(1));
    REQUIRE(agent);
    auto stand_in = system.spawn<stand_in_agent>();
    caf::scoped_actor self{system};
    std::string replied;
    self->request(*agent, std::chrono::seconds(5),
                  skyiq::actors::hello_atom_v, std::string("gw-1"), stand_in)
        .receive([&](std::string& name) { replied = name; },
                 [&](caf::error& err) { replied = system.render(err); });
    CHECK(replied == "gw-2");
    const bool linked_inbound = eventually(
        [&] {
          for (auto& line :
               log_events(cluster.process(1).log(), "peer-connected")) {
            if (line["node"] == "gw-1" && line["direction"] == "inbound") {
              return true;
            }
          }
          return false;
        },
        std::chrono::seconds(5));
    REQUIRE(linked_inbound);
    self->send_exit(stand_in, caf::exit_reason::kill);
    // The stand-in's down message reaches gw-2 within this second.
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }

  INFO("gw-2 log:\n" << cluster.process(1).log());
  const bool relinked = eventually(
      [&] {
        const auto metrics = cluster.client(1).get("/metrics").body;
        return metric_value(metrics, "skyiq_cluster_linked_peers") == 1.0;
      },
      std::chrono::seconds(5));
  CHECK(relinked);
  const auto forwarded =
      send_webhook(ports[1], 1, accounts[*owned_by_first], *owned_by_first);
  INFO(describe(forwarded));
  CHECK(forwarded.status == 200);
}

#include "tests/e2e/cluster_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>

namespace skyiq::testing {

namespace {

// Splits `text` at every `separator`.
std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) {
    parts.push_back(part);
  }
  if (!text.empty() && text.back() == separator) {
    parts.emplace_back();
  }
  return parts;
}

// Parses the key=value fields of a log line from `from` on. A value in
// double quotes may contain spaces, and a backslash in it escapes the next
// byte.
std::map<std::string, std::string> parse_fields(const std::string& line,
                                                std::size_t from) {
  std::map<std::string, std::string> fields;
  std::size_t at = from;
  while (at < line.size()) {
    const auto equals = line.find('=', at);
    if (equals == std::string::npos) {
      break;
    }
    const auto key_start = line.rfind(' ', equals);
    const auto key = line.substr(key_start + 1, equals - key_start - 1);
    std::string value;
    at = equals + 1;
    if (at < line.size() && line[at] == '"') {
      for (++at; at < line.size() && line[at] != '"'; ++at) {
        if (line[at] == '\\' && at + 1 < line.size()) {
          ++at;
        }
        value += line[at];
      }
      ++at;
    } else {
      const auto end = line.find(' ', at);
      value = line.substr(at, end == std::string::npos ? end : end - at);
      at = end == std::string::npos ? line.size() : end;
    }
    fields[key] = value;
  }
  return fields;
}

std::int64_t to_int(const std::string& text) {
  return text.empty() ? 0 : std::stoll(text);
}

} // namespace

gateway_cluster::gateway_cluster(std::size_t count,
                                 const std::vector<std::string>& settings)
    : fx(storage_backend::postgresql) {
  std::string peers;
  for (std::size_t index = 0; index < count; ++index) {
    names_.push_back("gw-" + std::to_string(index + 1));
    auto extra = settings;
    extra.push_back("cluster.node_name=" + names_.back());
    extra.push_back("cluster.listen=127.0.0.1:0");
    if (!peers.empty()) {
      extra.push_back("cluster.peers=" + peers);
    }
    if (index == 0) {
      fx.start(extra);
    } else {
      auto overrides = fx.overrides();
      overrides.insert(overrides.end(), extra.begin(), extra.end());
      others_.push_back(std::make_unique<gateway_process>(
          fx.dir.path() + "/" + names_.back() + ".log", overrides));
    }
    peers += (peers.empty() ? "" : ",") + std::string("127.0.0.1:") +
             std::to_string(cluster_port(index));
  }
}

std::optional<std::size_t>
gateway_cluster::index_of(const std::string& name) const {
  const auto found = std::find(names_.begin(), names_.end(), name);
  if (found == names_.end()) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(found - names_.begin());
}

gateway_process& gateway_cluster::process(std::size_t index) {
  return index == 0 ? *fx.gateway : *others_.at(index - 1);
}

http_client gateway_cluster::client(std::size_t index,
                                    std::chrono::seconds timeout) {
  return http_client(process(index).port(), timeout);
}

std::uint16_t gateway_cluster::cluster_port(std::size_t index) {
  const auto lines = log_events(process(index).log(), "cluster-listening");
  INFO(process(index).log());
  REQUIRE(lines.size() == 1);
  const auto port = lines.front().find("port");
  REQUIRE(port != lines.front().end());
  return static_cast<std::uint16_t>(std::stoi(port->second));
}

std::vector<std::string> gateway_cluster::registered_nodes() const {
  return fx.postgres->query("SELECT name FROM cluster_nodes ORDER BY name");
}

std::vector<std::map<std::string, std::string>>
log_events(const std::string& log, const std::string& event) {
  std::vector<std::map<std::string, std::string>> events;
  std::istringstream lines(log);
  std::string line;
  const auto marker = " " + event + " ";
  while (std::getline(lines, line)) {
    const auto at = line.find(marker);
    if (at != std::string::npos) {
      events.push_back(parse_fields(line, at + marker.size()));
    }
  }
  return events;
}

std::optional<lease_row> lease_of(const postgres_database& database,
                                  const std::string& account_id) {
  const auto rows =
      database.query("SELECT concat_ws('|', owner_node, epoch, expires_at)"
                     " FROM account_leases WHERE account_id = " +
                     sql_literal(account_id));
  if (rows.empty()) {
    return std::nullopt;
  }
  const auto parts = split(rows.front(), '|');
  REQUIRE(parts.size() == 3);
  return lease_row{parts[0], to_int(parts[1]), to_int(parts[2])};
}

std::vector<call_row> call_rows(const postgres_database& database) {
  // concat_ws leaves NULL out, so NULL becomes an empty string first.
  const auto rows = database.query(
      "SELECT concat_ws('|', account_id, call_sid, coalesce(lease_node, ''),"
      " coalesce(lease_epoch::text, ''), created_at)"
      " FROM calls ORDER BY account_id, created_at, id");
  std::vector<call_row> calls;
  for (const auto& text : rows) {
    const auto parts = split(text, '|');
    REQUIRE(parts.size() == 5);
    call_row row{parts[0], parts[1], parts[2], std::nullopt, to_int(parts[4])};
    if (!parts[3].empty()) {
      row.lease_epoch = to_int(parts[3]);
    }
    calls.push_back(row);
  }
  return calls;
}

lease_breaches find_lease_breaches(const std::vector<call_row>& rows) {
  lease_breaches found;
  // For each account: the nodes seen under each epoch, and the highest epoch
  // seen so far in created_at order.
  std::map<std::string, std::map<std::int64_t, std::set<std::string>>> nodes;
  std::map<std::string, const call_row*> highest;
  for (const auto& row : rows) {
    if (row.lease_node.empty() || !row.lease_epoch) {
      found.unfenced.push_back(row.account_id + " " + row.call_sid);
      continue;
    }
    nodes[row.account_id][*row.lease_epoch].insert(row.lease_node);
    const auto*& top = highest[row.account_id];
    if (top != nullptr && *row.lease_epoch < *top->lease_epoch) {
      found.falling_epochs.push_back(
          row.account_id + ": " + row.call_sid + " at epoch " +
          std::to_string(*row.lease_epoch) + " (created_at " +
          std::to_string(row.created_at) + ") after " + top->call_sid +
          " at epoch " + std::to_string(*top->lease_epoch) + " (created_at " +
          std::to_string(top->created_at) + ")");
    }
    if (top == nullptr || *row.lease_epoch > *top->lease_epoch) {
      top = &row;
    }
  }
  for (const auto& [account, epochs] : nodes) {
    for (const auto& [epoch, writers] : epochs) {
      if (writers.size() > 1) {
        std::string list;
        for (const auto& writer : writers) {
          list += " " + writer;
        }
        found.shared_epochs.push_back(account + " epoch " +
                                      std::to_string(epoch) + ":" + list);
      }
    }
  }
  return found;
}

pause_guard::pause_guard(pid_t pid) : pid_(pid) {
  // kill() returns before the process stops. waitpid reports the stop once
  // all of its threads have stopped, so no request is served after that.
  ::kill(pid_, SIGSTOP);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!stopped_ && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t reported = ::waitpid(pid_, &status, WNOHANG | WUNTRACED);
    if (reported == pid_ && WIFSTOPPED(status)) {
      stopped_ = true;
    } else if (reported != 0) {
      // The process exited, or is not a child of this one.
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

pause_guard::~pause_guard() {
  resume();
}

void pause_guard::resume() {
  if (paused_) {
    ::kill(pid_, SIGCONT);
    paused_ = false;
  }
}

std::string sql_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') {
      out += '\'';
    }
  }
  return out + "'";
}

} // namespace skyiq::testing

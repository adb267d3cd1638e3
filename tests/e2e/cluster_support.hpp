#pragma once

// Helpers of the cluster tests: several gateway nodes on one PostgreSQL
// database, readers of the lease columns that the nodes write, and a guard
// that keeps a stopped process from outliving a failed test.

#include "tests/e2e/fixture.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace skyiq::testing {

/// Gateway nodes gw-1 ... gw-N on one new PostgreSQL database. They share
/// the fake Twilio and the master key file of `fx`, so that any node can
/// decrypt the Twilio credentials another stored. Node 0 is `fx.gateway`,
/// so `fx.connect` and `fx.send_voice` go through gw-1. Each node listens
/// for cluster links on a free port of 127.0.0.1 and names the nodes
/// started before it in `cluster.peers`.
class gateway_cluster {
public:
  /// Starts `count` nodes, each with the `cluster.*` overrides in
  /// `settings` on top of its name, listen address and peers.
  gateway_cluster(std::size_t count, const std::vector<std::string>& settings);

  std::size_t size() const {
    return names_.size();
  }

  /// Returns the node name of `index`: gw-1 for index 0.
  const std::string& name(std::size_t index) const {
    return names_.at(index);
  }

  /// Returns the index of the node called `name`, or nullopt.
  std::optional<std::size_t> index_of(const std::string& name) const;

  gateway_process& process(std::size_t index);

  /// Returns a client of node `index` whose requests give up after
  /// `timeout`.
  http_client client(std::size_t index,
                     std::chrono::seconds timeout = std::chrono::seconds(10));

  /// Returns the port of the `cluster-listening` line of node `index`.
  std::uint16_t cluster_port(std::size_t index);

  /// Returns the names listed in the cluster_nodes table, sorted.
  std::vector<std::string> registered_nodes() const;

  gateway_fixture fx;

private:
  std::vector<std::string> names_;
  /// Nodes 1 ... N-1; node 0 is `fx.gateway`. Declared after `fx`, so
  /// they stop before its database is dropped.
  std::vector<std::unique_ptr<gateway_process>> others_;
};

/// The key=value fields of each log line of event `event`, in log order.
/// A quoted value is returned without its quotes.
std::vector<std::map<std::string, std::string>>
log_events(const std::string& log, const std::string& event);

/// An account_leases row.
struct lease_row {
  std::string owner_node;
  std::int64_t epoch = 0;
  /// Milliseconds since the Unix epoch.
  std::int64_t expires_at = 0;
};

/// Returns the lease row of `account_id`, or nullopt when there is none.
std::optional<lease_row> lease_of(const postgres_database& database,
                                  const std::string& account_id);

/// A calls row with the lease it was written under. `lease_node` is empty
/// and `lease_epoch` is nullopt where the column is NULL.
struct call_row {
  std::string account_id;
  std::string call_sid;
  std::string lease_node;
  std::optional<std::int64_t> lease_epoch;
  /// Milliseconds since the Unix epoch.
  std::int64_t created_at = 0;
};

/// Returns every calls row, ordered by account, created_at and id.
std::vector<call_row> call_rows(const postgres_database& database);

/// Breaches of single ownership found in call rows, each described in a
/// line that names the account and the rows involved.
struct lease_breaches {
  /// Rows whose lease_node or lease_epoch is NULL.
  std::vector<std::string> unfenced;
  /// Epochs of one account under which more than one node wrote.
  std::vector<std::string> shared_epochs;
  /// Rows whose epoch is lower than that of an earlier row (by
  /// created_at) of the same account.
  std::vector<std::string> falling_epochs;
};

/// Returns the breaches in `rows`, which must be ordered as `call_rows`
/// returns them.
lease_breaches find_lease_breaches(const std::vector<call_row>& rows);

/// Stops a child process with SIGSTOP. `resume` or the destructor sends
/// SIGCONT, so that a failed assertion never leaves the process stopped.
class pause_guard {
public:
  /// Sends SIGSTOP and waits up to 5 s for every thread of `pid` to stop.
  explicit pause_guard(pid_t pid);
  ~pause_guard();

  pause_guard(const pause_guard&) = delete;
  pause_guard& operator=(const pause_guard&) = delete;

  /// Returns true when the kernel reported the process stopped.
  bool stopped() const {
    return stopped_;
  }

  /// Sends SIGCONT once. Later calls do nothing.
  void resume();

private:
  pid_t pid_;
  bool paused_ = true;
  bool stopped_ = false;
};

/// Returns `text` as an SQL string literal.
std::string sql_literal(const std::string& text);

} // namespace skyiq::testing

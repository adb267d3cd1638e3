#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace skyiq::config {

/// Immutable gateway settings, read once at start-up. Sources, later wins:
/// built-in defaults, the INI file, `SKYIQ_*` environment variables and
/// `--set key=value` arguments.
struct settings {
  /// Listen address; port 0 binds a free port.
  std::string http_host = "127.0.0.1";
  std::uint16_t http_port = 8080;
  /// The URL Twilio calls, used in signatures and in configured webhooks.
  std::string http_public_base_url = "http://127.0.0.1:8080";
  /// Worker threads of the HTTP server; one keep-alive connection each.
  std::size_t http_threads = 64;
  /// Pending connections queued beyond the busy threads.
  std::size_t http_max_queued = 256;
  /// Largest accepted request body of JSON routes, in bytes.
  std::size_t http_max_body_bytes = 64 * 1024;
  /// Largest accepted webhook body, in bytes.
  std::size_t http_max_webhook_bytes = 64 * 1024;
  /// Time a keep-alive connection may stay idle, and a read may take.
  std::chrono::milliseconds http_idle_timeout{15000};
  /// Time a client has to send a whole request, head and body, counted
  /// from the accept or, on a kept-alive connection, from the end of
  /// `http_idle_timeout` after the previous response. A client still
  /// sending then is disconnected.
  std::chrono::milliseconds http_read_timeout{10000};
  /// Most header fields and bytes of request head (request line and
  /// fields) accepted; a request over either limit gets a 431 response.
  /// Poco itself refuses more than 100 fields, a name over 256 bytes or a
  /// value over 8 KiB with a 400.
  std::size_t http_max_header_fields = 100;
  std::size_t http_max_header_bytes = 16 * 1024;
  /// Requests served on one keep-alive connection before it is closed.
  std::size_t http_max_keep_alive_requests = 1000;
  /// Dashboard requests per second and burst allowed for one account; a
  /// rate of 0 turns the limit off.
  double http_account_rate = 50;
  double http_account_burst = 100;
  /// Time an HTTP thread waits for an actor's reply.
  std::chrono::milliseconds http_request_timeout{14000};

  /// `sqlite:PATH` or a PostgreSQL URL or key=value connection string.
  std::string storage_url = "sqlite:var/gateway.db";
  /// Connections kept open for dashboard reads and writes.
  std::size_t storage_pool_size = 4;
  /// Largest number of call records committed in one transaction.
  std::size_t storage_max_batch = 256;
  /// Bounds the store's lock, pool and PostgreSQL statement waits, and the
  /// time an account actor waits for a storage job it does not delegate.
  std::chrono::milliseconds storage_timeout{5000};

  /// File holding the 256-bit master key as 64 hex characters.
  std::string security_master_key_file = "var/master.key";
  std::chrono::seconds security_session_ttl{24 * 3600};
  /// Argon2id cost; the defaults are OWASP's minimum (19 MiB, 2, 1).
  std::uint32_t security_argon2_memory_kib = 19456;
  std::uint32_t security_argon2_iterations = 2;
  std::uint32_t security_argon2_parallelism = 1;
  /// Failed logins within the window before further attempts get 429:
  /// for one email from one client address, for one email from all
  /// addresses, and from one address for all emails; 0 turns a limit off.
  /// The first is low and the second high, so that a guesser from one
  /// address cannot lock the account's owner out of logging in from
  /// elsewhere, while guessing from many addresses is still bounded.
  std::size_t security_login_max_failures = 5;
  std::size_t security_login_max_failures_per_email = 100;
  std::size_t security_login_max_failures_per_address = 50;
  std::chrono::seconds security_login_failure_window{15 * 60};

  std::string twilio_api_base_url = "https://api.twilio.com";
  std::optional<std::string> twilio_voice_fallback_url;
  /// Total time of one Twilio REST request, and its connect phase.
  std::chrono::milliseconds twilio_timeout{10000};
  std::chrono::milliseconds twilio_connect_timeout{3000};
  /// Retries of a Twilio request answered 429 or 5xx.
  int twilio_max_retries = 3;
  /// First backoff delay; doubled on every retry.
  std::chrono::milliseconds twilio_retry_backoff{200};
  /// Extra CA bundle for a private Twilio endpoint; empty for none.
  std::string twilio_ca_file;

  /// Region for phone numbers typed without `+`.
  std::string phone_default_region = "US";

  /// Time an account actor stays alive without messages.
  std::chrono::milliseconds actors_idle_timeout{600000};
  /// Detached worker threads for blocking storage and Twilio calls.
  std::size_t actors_io_workers = 8;
  /// CAF scheduler policy: `sharing` (one queue, idle threads block on
  /// it) or `stealing` (per-thread queues, idle threads poll).
  std::string actors_scheduler = "sharing";

  std::string log_level = "information";

  /// This node's name in the cluster; empty runs a single node.
  std::string cluster_node_name;
  /// host:port on which this node accepts links from its peers.
  std::string cluster_listen;
  /// host:port of every other node.
  std::vector<std::string> cluster_peers;
  /// Lifetime of an account lease and of a node's heartbeat: the time
  /// after which the accounts of a silent node may be taken over.
  std::chrono::milliseconds cluster_lease_ttl{4000};
  /// Time between two heartbeats and lease renewals, at most a third of
  /// `cluster_lease_ttl`.
  std::chrono::milliseconds cluster_heartbeat_interval{1000};
  /// Mutual TLS on node links, on by default. It then requires the three
  /// files below whenever `cluster_node_name` is set.
  bool cluster_tls = true;
  std::string cluster_tls_cert_file;
  std::string cluster_tls_key_file;
  std::string cluster_tls_ca_file;
};

/// Error raised for an invalid configuration key or value; its message
/// names the key, the value and what is accepted.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Loads settings from an optional INI file (a missing default file is not
/// an error, a missing named file is), the environment and overrides.
/// Throws config_error.
settings load_settings(const std::optional<std::string>& ini_file,
                       bool ini_file_required,
                       const std::map<std::string, std::string>& environment,
                       const std::vector<std::string>& overrides);

/// Maps a key such as `http.public_base_url` to `SKYIQ_HTTP_PUBLIC_BASE_URL`.
std::string environment_name(const std::string& key);

/// Parses `250ms`, `10s`, `5m`, `24h` or a bare number of seconds.
/// Throws config_error naming `key`.
std::chrono::milliseconds parse_duration(const std::string& key,
                                         const std::string& text);

/// Returns every known configuration key.
std::vector<std::string> known_keys();

} // namespace skyiq::config

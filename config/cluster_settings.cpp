#include "config/cluster_settings.hpp"

#include <Poco/Exception.h>
#include <Poco/File.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

namespace skyiq::config::cluster_keys {

namespace {

using std::chrono::milliseconds;

const milliseconds min_lease_ttl{1000};
const milliseconds max_lease_ttl{60000};
const milliseconds min_heartbeat{100};
const milliseconds max_heartbeat{10000};

[[noreturn]] void reject(const std::string& key, const std::string& value,
                         const std::string& expected) {
  throw config_error("invalid value '" + value + "' for configuration key '" +
                     key + "': expected " + expected);
}

bool is_lower_alnum(char c) {
  return std::islower(static_cast<unsigned char>(c)) ||
         std::isdigit(static_cast<unsigned char>(c));
}

// A DNS label: 1 to 63 letters, digits and hyphens, with no hyphen at
// either end. Node names use the lower-case form only.
bool is_label(const std::string& text, bool lower_case_only) {
  if (text.empty() || text.size() > 63) {
    return false;
  }
  if (text.front() == '-' || text.back() == '-') {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [&](char c) {
    const bool alnum = lower_case_only
                         ? is_lower_alnum(c)
                         : std::isalnum(static_cast<unsigned char>(c)) != 0;
    return alnum || c == '-';
  });
}

bool is_hostname(const std::string& host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    const auto dot = host.find('.', start);
    const auto label = host.substr(start, dot - start);
    if (!is_label(label, false)) {
      return false;
    }
    if (dot == std::string::npos) {
      return true;
    }
    start = dot + 1;
  }
}

bool is_ip(int family, const std::string& text) {
  unsigned char buffer[16];
  return ::inet_pton(family, text.c_str(), buffer) == 1;
}

bool is_port(const std::string& text, unsigned min) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), ::isdigit)) {
    return false;
  }
  const auto port = std::stoul(text);
  return port >= min && port <= 65535;
}

// Accepts HOST:PORT with HOST a hostname, an IPv4 address or an IPv6
// address in brackets, and PORT from `min_port` to 65535.
bool is_host_port(const std::string& text, unsigned min_port) {
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    return close != std::string::npos &&
           is_ip(AF_INET6, text.substr(1, close - 1)) &&
           is_port(text.substr(close + 2), min_port);
  }
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  const auto host = text.substr(0, colon);
  if (host.find(':') != std::string::npos) {
    return false;
  }
  const bool host_ok = is_hostname(host) || is_ip(AF_INET, host);
  return host_ok && is_port(text.substr(colon + 1), min_port);
}

std::string host_port_expected(unsigned min_port) {
  return "HOST:PORT with a hostname, an IPv4 address or a bracketed IPv6 "
         "address such as [::1]:4100, and a port from " +
         std::to_string(min_port) + " to 65535";
}

milliseconds bounded_duration(const std::string& key,
                              const std::string& value, milliseconds min,
                              milliseconds max) {
  const auto parsed = parse_duration(key, value);
  if (parsed < min || parsed > max) {
    reject(key, value,
           "a duration from " + std::to_string(min.count()) + "ms to " +
             std::to_string(max.count()) + "ms, such as 4s");
  }
  return parsed;
}

[[noreturn]] void reject_combination(const std::string& message) {
  throw config_error("invalid cluster configuration: " + message);
}

void check_tls_file(const std::string& key, const std::string& path) {
  if (path.empty()) {
    reject_combination("cluster.tls is true but " + key +
           " is not set: node links need a certificate, its private key "
           "and the CA that signed the peers' certificates; set " +
           "cluster.tls_cert_file, cluster.tls_key_file and "
           "cluster.tls_ca_file");
  }
  bool readable = false;
  try {
    Poco::File file(path);
    readable = file.exists() && file.isFile() && file.canRead();
  } catch (const Poco::Exception&) {
    readable = false;
  }
  if (!readable) {
    reject_combination(key + " '" + path +
           "' is not a readable file: check the path and its permissions");
  }
}

void check_tls(const settings& s) {
  if (s.cluster_tls) {
    check_tls_file("cluster.tls_cert_file", s.cluster_tls_cert_file);
    check_tls_file("cluster.tls_key_file", s.cluster_tls_key_file);
    check_tls_file("cluster.tls_ca_file", s.cluster_tls_ca_file);
    return;
  }
  const bool any_file = !s.cluster_tls_cert_file.empty() ||
                        !s.cluster_tls_key_file.empty() ||
                        !s.cluster_tls_ca_file.empty();
  if (any_file) {
    reject_combination("cluster.tls is false but TLS files are set: set cluster.tls "
           "to true to use them, or remove the cluster.tls_* file keys");
  }
}

} // namespace

void set_node_name(settings& s, const std::string& key,
                   const std::string& value) {
  if (!value.empty() && !is_label(value, true)) {
    reject(key, value,
           "1 to 63 lower-case letters, digits and hyphens, not starting "
           "or ending with a hyphen, such as gw-1 (empty turns the cluster "
           "off)");
  }
  s.cluster_node_name = value;
}

void set_listen(settings& s, const std::string& key,
                const std::string& value) {
  if (!value.empty() && !is_host_port(value, 0)) {
    reject(key, value, host_port_expected(0));
  }
  s.cluster_listen = value;
}

void set_peers(settings& s, const std::string& key,
               const std::string& value) {
  std::vector<std::string> peers;
  std::set<std::string> seen;
  std::string item;
  for (char c : value + ",") {
    if (c != ',') {
      if (!std::isspace(static_cast<unsigned char>(c))) {
        item.push_back(c);
      }
      continue;
    }
    if (item.empty()) {
      continue;
    }
    if (!is_host_port(item, 1)) {
      reject(key, value,
             "a comma-separated list of " + host_port_expected(1) +
               "; '" + item + "' is not one");
    }
    if (!seen.insert(item).second) {
      reject(key, value, "each peer once; '" + item + "' is listed twice");
    }
    peers.push_back(item);
    item.clear();
  }
  s.cluster_peers = peers;
}

void set_lease_ttl(settings& s, const std::string& key,
                   const std::string& value) {
  s.cluster_lease_ttl =
    bounded_duration(key, value, min_lease_ttl, max_lease_ttl);
}

void set_heartbeat_interval(settings& s, const std::string& key,
                            const std::string& value) {
  s.cluster_heartbeat_interval =
    bounded_duration(key, value, min_heartbeat, max_heartbeat);
}

void set_tls(settings& s, const std::string& key, const std::string& value) {
  if (value != "true" && value != "false") {
    reject(key, value, "true or false");
  }
  s.cluster_tls = value == "true";
}

void set_tls_cert_file(settings& s, const std::string&,
                       const std::string& value) {
  s.cluster_tls_cert_file = value;
}

void set_tls_key_file(settings& s, const std::string&,
                      const std::string& value) {
  s.cluster_tls_key_file = value;
}

void set_tls_ca_file(settings& s, const std::string&,
                     const std::string& value) {
  s.cluster_tls_ca_file = value;
}

void check(const settings& s) {
  if (s.cluster_node_name.empty()) {
    if (!s.cluster_listen.empty() || !s.cluster_peers.empty()) {
      reject_combination("cluster.listen or cluster.peers is set but "
             "cluster.node_name is empty: name this node, or remove the "
             "other cluster keys");
    }
    return;
  }
  if (s.storage_url.rfind("sqlite:", 0) == 0) {
    reject_combination("cluster.node_name is set but storage.url is " +
           s.storage_url + ": nodes of a cluster share one PostgreSQL "
           "database, so set storage.url to a postgresql:// URL, or remove "
           "cluster.node_name to run a single node on SQLite");
  }
  if (s.cluster_listen.empty()) {
    reject_combination("cluster.node_name is set but cluster.listen is empty: give the "
           "host:port on which this node accepts links from its peers");
  }
  const auto& peers = s.cluster_peers;
  if (std::find(peers.begin(), peers.end(), s.cluster_listen) !=
      peers.end()) {
    reject_combination("cluster.peers lists this node's own address " +
           s.cluster_listen + ": list only the other nodes");
  }
  // With renewals at a third of the TTL or less, two renewals in a row
  // may fail while the lease is still live.
  if (s.cluster_heartbeat_interval * 3 > s.cluster_lease_ttl) {
    reject_combination("cluster.heartbeat_interval (" +
           std::to_string(s.cluster_heartbeat_interval.count()) +
           "ms) must be at most a third of cluster.lease_ttl (" +
           std::to_string(s.cluster_lease_ttl.count()) +
           "ms), so that a lease survives two missed renewals");
  }
  check_tls(s);
}

} // namespace skyiq::config::cluster_keys

#include "config/settings.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

using skyiq::config::config_error;
using skyiq::config::load_settings;
using skyiq::config::settings;

namespace {

settings load(const std::vector<std::string>& overrides) {
  return load_settings(std::nullopt, false, {}, overrides);
}

// Returns the message of the config_error that `overrides` raise, or an
// empty string when they load.
std::string error_of(const std::vector<std::string>& overrides) {
  try {
    load(overrides);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Three readable files in place of a certificate, key and CA, in a
// directory of their own. ctest runs the cases of this file in parallel,
// so one case must not delete the files another case is reading.
struct tls_files {
  std::string dir;
  std::string cert;
  std::string key;
  std::string ca;

  tls_files() {
    std::string pattern = "/tmp/skyiq-cluster-settings-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      FAIL("mkdtemp failed for " << pattern);
    }
    dir = pattern;
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    ca = dir + "/ca.pem";
    for (const auto& path : {cert, key, ca}) {
      std::ofstream(path) << "-----BEGIN TEST-----\n";
    }
  }

  tls_files(const tls_files&) = delete;
  tls_files& operator=(const tls_files&) = delete;

  ~tls_files() {
    for (const auto& path : {cert, key, ca}) {
      std::remove(path.c_str());
    }
    rmdir(dir.c_str());
  }

  std::vector<std::string> overrides() const {
    return {"cluster.tls_cert_file=" + cert, "cluster.tls_key_file=" + key,
            "cluster.tls_ca_file=" + ca};
  }
};

// Nodes of a cluster share a PostgreSQL database; no server is contacted
// while settings load.
const std::string shared_store =
    "storage.url=postgresql://gateway@127.0.0.1:5432/skyiq";

std::vector<std::string> node(std::vector<std::string> extra = {}) {
  std::vector<std::string> all = {shared_store, "cluster.node_name=gw-1",
                                  "cluster.listen=127.0.0.1:4100",
                                  "cluster.tls=false"};
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

} // namespace

TEST_CASE("cluster is off by default") {
  const auto s = load({});
  CHECK(s.cluster_node_name.empty());
  CHECK(s.cluster_listen.empty());
  CHECK(s.cluster_peers.empty());
  CHECK(s.cluster_lease_ttl == std::chrono::seconds(4));
  CHECK(s.cluster_heartbeat_interval == std::chrono::seconds(1));
  CHECK(s.cluster_tls);
}

TEST_CASE("cluster node settings load") {
  const auto s =
      load(node({"cluster.peers=gw-2.internal:4100, [::1]:4101",
                 "cluster.lease_ttl=6s", "cluster.heartbeat_interval=2s"}));
  CHECK(s.cluster_node_name == "gw-1");
  CHECK(s.cluster_listen == "127.0.0.1:4100");
  CHECK(s.cluster_peers ==
        std::vector<std::string>{"gw-2.internal:4100", "[::1]:4101"});
  CHECK(s.cluster_lease_ttl == std::chrono::seconds(6));
  CHECK(s.cluster_heartbeat_interval == std::chrono::seconds(2));
  CHECK_FALSE(s.cluster_tls);
}

TEST_CASE("node names follow the label pattern") {
  for (const auto* name : {"gw-1", "a", "0node", "n123456789"}) {
    INFO(name);
    CHECK(load(node({std::string("cluster.node_name=") + name}))
              .cluster_node_name == name);
  }
  const std::string too_long(64, 'a');
  for (const auto& name :
       {std::string("Gw-1"), std::string("-gw"), std::string("gw-"),
        std::string("gw_1"), std::string("gw.1"), std::string("gw 1"),
        std::string("gé"), too_long}) {
    INFO(name);
    const auto message = error_of(node({"cluster.node_name=" + name}));
    CHECK(contains(message, "cluster.node_name"));
    CHECK(contains(message, "lower-case letters, digits and hyphens"));
  }
}

TEST_CASE("listen address must be host:port") {
  for (const auto* ok :
       {"127.0.0.1:4100", "gw-1.example.com:1", "[::1]:0", "localhost:65535"}) {
    INFO(ok);
    CHECK(load(node({std::string("cluster.listen=") + ok})).cluster_listen ==
          ok);
  }
  for (const auto* bad :
       {"127.0.0.1", ":4100", "host:", "host:65536", "host:port", "::1:4100",
        "[::1]4100", "[zz]:1", "bad_host:1", "-host:1", "host:-1", "a..b:1"}) {
    INFO(bad);
    const auto message = error_of(node({std::string("cluster.listen=") + bad}));
    CHECK(contains(message, "cluster.listen"));
    CHECK(contains(message, "HOST:PORT"));
  }
}

TEST_CASE("peers must be distinct host:port entries") {
  CHECK(load(node({"cluster.peers="})).cluster_peers.empty());
  const auto bad_entry = error_of(node({"cluster.peers=gw-2:4100,gw-3"}));
  CHECK(contains(bad_entry, "cluster.peers"));
  CHECK(contains(bad_entry, "'gw-3' is not one"));
  const auto zero_port = error_of(node({"cluster.peers=gw-2:0"}));
  CHECK(contains(zero_port, "from 1 to 65535"));
  const auto twice = error_of(node({"cluster.peers=gw-2:4100, gw-2:4100"}));
  CHECK(contains(twice, "listed twice"));
  const auto self = error_of(node({"cluster.peers=127.0.0.1:4100"}));
  CHECK(contains(self, "own address"));
}

TEST_CASE("lease ttl and heartbeat are bounded") {
  CHECK(contains(error_of(node({"cluster.lease_ttl=999ms"})),
                 "from 1000ms to 60000ms"));
  CHECK(contains(error_of(node({"cluster.lease_ttl=61s"})),
                 "from 1000ms to 60000ms"));
  CHECK(contains(error_of(node({"cluster.heartbeat_interval=99ms"})),
                 "from 100ms to 10000ms"));
  CHECK(contains(error_of(node({"cluster.heartbeat_interval=11s"})),
                 "from 100ms to 10000ms"));
  CHECK(contains(error_of(node({"cluster.lease_ttl=four"})),
                 "a duration such as"));
}

TEST_CASE("heartbeat must fit three times in the lease") {
  CHECK(load(node({"cluster.lease_ttl=3s", "cluster.heartbeat_interval=1s"}))
            .cluster_heartbeat_interval == std::chrono::seconds(1));
  const auto message = error_of(
      node({"cluster.lease_ttl=3s", "cluster.heartbeat_interval=1001ms"}));
  CHECK(contains(message, "at most a third of cluster.lease_ttl"));
}

TEST_CASE("listen and peers need a node name") {
  const auto listen_only = error_of({"cluster.listen=127.0.0.1:4100"});
  CHECK(contains(listen_only, "cluster.node_name is empty"));
  const auto peers_only = error_of({"cluster.peers=gw-2:4100"});
  CHECK(contains(peers_only, "cluster.node_name is empty"));
}

TEST_CASE("node name needs a listen address") {
  const auto message =
      error_of({shared_store, "cluster.node_name=gw-1", "cluster.tls=false"});
  CHECK(contains(message, "cluster.listen is empty"));
}

TEST_CASE("tls without its files is rejected at start-up") {
  const auto message = error_of({shared_store, "cluster.node_name=gw-1",
                                 "cluster.listen=127.0.0.1:4100"});
  CHECK(contains(message, "cluster.tls is true"));
  CHECK(contains(message, "cluster.tls_cert_file is not set"));

  tls_files files;
  auto without_ca = std::vector<std::string>{
      shared_store, "cluster.node_name=gw-1", "cluster.listen=127.0.0.1:4100",
      "cluster.tls_cert_file=" + files.cert,
      "cluster.tls_key_file=" + files.key};
  CHECK(contains(error_of(without_ca), "cluster.tls_ca_file is not set"));
  auto without_key = std::vector<std::string>{
      shared_store, "cluster.node_name=gw-1", "cluster.listen=127.0.0.1:4100",
      "cluster.tls_cert_file=" + files.cert, "cluster.tls_ca_file=" + files.ca};
  CHECK(contains(error_of(without_key), "cluster.tls_key_file is not set"));
}

TEST_CASE("tls with all three files loads") {
  tls_files files;
  auto overrides = files.overrides();
  overrides.push_back(shared_store);
  overrides.push_back("cluster.node_name=gw-1");
  overrides.push_back("cluster.listen=127.0.0.1:4100");
  const auto s = load(overrides);
  CHECK(s.cluster_tls);
  CHECK(s.cluster_tls_cert_file == files.cert);
  CHECK(s.cluster_tls_key_file == files.key);
  CHECK(s.cluster_tls_ca_file == files.ca);
}

TEST_CASE("tls file that cannot be read is rejected") {
  tls_files files;
  auto overrides = files.overrides();
  overrides.push_back(shared_store);
  overrides.push_back("cluster.node_name=gw-1");
  overrides.push_back("cluster.listen=127.0.0.1:4100");
  overrides.push_back("cluster.tls_key_file=no-such-dir/key.pem");
  const auto message = error_of(overrides);
  CHECK(contains(message, "cluster.tls_key_file 'no-such-dir/key.pem'"));
  CHECK(contains(message, "not a readable file"));
}

TEST_CASE("tls files with tls off are rejected") {
  tls_files files;
  auto overrides = node(files.overrides());
  const auto message = error_of(overrides);
  CHECK(contains(message, "cluster.tls is false but TLS files are set"));
}

TEST_CASE("tls flag accepts only true or false") {
  const auto message = error_of(node({"cluster.tls=yes"}));
  CHECK(contains(message, "cluster.tls"));
  CHECK(contains(message, "true or false"));
}

TEST_CASE("tls files are not checked without a cluster") {
  const auto s = load({"cluster.tls_cert_file=missing.pem"});
  CHECK(s.cluster_node_name.empty());
}

TEST_CASE("cluster on SQLite is rejected") {
  const auto message =
      error_of({"cluster.node_name=gw-1", "cluster.listen=127.0.0.1:4100",
                "cluster.tls=false", "storage.url=sqlite:var/gateway.db"});
  CHECK(contains(message, "storage.url is sqlite:var/gateway.db"));
  CHECK(contains(message, "postgresql://"));
}

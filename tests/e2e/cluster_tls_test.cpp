// End-to-end: node links with mutual TLS through CAF's OpenSSL module,
// with a private CA made for each test by the openssl command.

#include "tests/e2e/cluster_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <map>
#include <thread>

using namespace skyiq::testing;
using namespace std::chrono_literals;

namespace {

// Runs `command` in a shell and fails the test when it fails.
void run(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

// A CA and a certificate it signed, valid for two days, in `dir`.
struct tls_files {
  std::string ca;
  std::string cert;
  std::string key;
};

tls_files make_certificate(const std::string& dir, const std::string& name) {
  const auto base = dir + "/" + name;
  tls_files files{base + "-ca.pem", base + ".pem", base + ".key"};
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=" +
      name + " CA' -keyout " + base + "-ca.key -out " + files.ca +
      " -addext basicConstraints=critical,CA:TRUE"
      " -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null");
  run("openssl req -newkey rsa:2048 -nodes -subj '/CN=" + name +
      "' -keyout " + files.key + " -out " + base + ".csr 2>/dev/null");
  run("printf 'extendedKeyUsage=serverAuth,clientAuth\\n' > " + base +
      ".ext");
  run("openssl x509 -req -in " + base + ".csr -CA " + files.ca + " -CAkey " +
      base + "-ca.key -CAcreateserial -days 2 -extfile " + base +
      ".ext -out " + files.cert + " 2>/dev/null");
  return files;
}

std::vector<std::string> tls_settings(const tls_files& own,
                                      const std::string& trusted_ca) {
  return {"cluster.tls=true", "cluster.tls_cert_file=" + own.cert,
          "cluster.tls_key_file=" + own.key,
          "cluster.tls_ca_file=" + trusted_ca};
}

// Waits up to `limit` for `node`'s log to list a link to `peer`.
bool wait_for_link(gateway_cluster& cluster, std::size_t node,
                   const std::string& peer, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& line :
         log_events(cluster.process(node).log(), "peer-connected")) {
      if (line.at("node") == peer) {
        return true;
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

} // namespace

TEST_CASE("TLS nodes link and forward requests") {
  temp_dir certs;
  const auto node_files = make_certificate(certs.path(), "gw");
  gateway_cluster cluster(2, tls_settings(node_files, node_files.ca));
  REQUIRE(wait_for_link(cluster, 0, "gw-2", 5s));
  REQUIRE(wait_for_link(cluster, 1, "gw-1", 5s));
  CHECK(log_events(cluster.process(0).log(), "cluster-listening")
            .front()
            .at("tls") == "true");

  // Accounts until each node owns one, so that each node serves one
  // account itself and forwards the other's requests.
  std::map<std::string, session> owned_by;
  auto first = cluster.client(0);
  for (int i = 0; i < 32 && owned_by.size() < 2; ++i) {
    auto user = cluster.fx.signup("tls" + std::to_string(i) + "@example.com");
    const auto reply = first.get("/api/business/" + user.user_id, user.token);
    INFO(reply.body);
    REQUIRE(reply.status == 200);
    const auto lease = lease_of(*cluster.fx.postgres, user.user_id);
    REQUIRE(lease);
    owned_by.emplace(lease->owner_node, user);
  }
  REQUIRE(owned_by.size() == 2);

  for (const auto& [owner, user] : owned_by) {
    for (std::size_t node = 0; node < cluster.size(); ++node) {
      auto client = cluster.client(node);
      const auto update = client.post_json(
          "/api/business/" + user.user_id,
          json{{"businessName", "Served by " + owner}}.dump(), user.token);
      INFO(cluster.name(node) << " for an account of " << owner << ": "
                              << update.body);
      CHECK(update.status == 200);
      CHECK(lease_of(*cluster.fx.postgres, user.user_id)->owner_node ==
            owner);
    }
  }

  // Each node forwarded the updates of the account the other owns.
  for (std::size_t node = 0; node < cluster.size(); ++node) {
    auto client = cluster.client(node);
    const auto metrics = client.get("/metrics");
    INFO(cluster.name(node) << ":\n" << metrics.body);
    CHECK(metrics.body.find("\nskyiq_cluster_linked_peers 1\n") !=
          std::string::npos);
    CHECK(metrics.body.find("\nskyiq_forwarded_requests_total 0\n") ==
          std::string::npos);
  }
}

TEST_CASE("node with another CA's certificate cannot link") {
  temp_dir certs;
  const auto node_files = make_certificate(certs.path(), "gw");
  const auto rogue_files = make_certificate(certs.path(), "rogue");
  gateway_cluster cluster(2, tls_settings(node_files, node_files.ca));
  REQUIRE(wait_for_link(cluster, 0, "gw-2", 5s));

  // The rogue trusts the nodes' CA, but its own certificate comes from
  // another CA, so the nodes reject it in both directions: gw-0 links to
  // them, and they link to gw-9.
  for (const std::string name : {"gw-0", "gw-9"}) {
    auto overrides = cluster.fx.overrides();
    const auto tls = tls_settings(rogue_files, node_files.ca);
    overrides.insert(overrides.end(), tls.begin(), tls.end());
    overrides.push_back("cluster.node_name=" + name);
    overrides.push_back("cluster.listen=127.0.0.1:0");
    overrides.push_back("http.port=0");
    gateway_process rogue(certs.path() + "/" + name + ".log", overrides);
    std::this_thread::sleep_for(3s);
    INFO(rogue.log());
    CHECK(log_events(rogue.log(), "peer-connected").empty());
    for (std::size_t node = 0; node < cluster.size(); ++node) {
      for (const auto& line :
           log_events(cluster.process(node).log(), "peer-connected")) {
        CHECK(line.at("node") != name);
      }
    }
    rogue.terminate();
  }
}

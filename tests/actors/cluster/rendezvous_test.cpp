#include "actors/cluster/rendezvous.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

using skyiq::cluster::choose_owner;
using skyiq::cluster::fnv1a_64;
using skyiq::cluster::rendezvous_weight;

namespace {

const std::vector<std::string> three_nodes = {"node-a", "node-b", "node-c"};

// Ids shaped like the gateway's: 22 URL-safe characters, drawn from a
// fixed linear congruential sequence so that every run gets the same ids.
std::vector<std::string> sample_account_ids(std::size_t count) {
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::uint64_t state = 42;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < count; ++i) {
    std::string id;
    for (int c = 0; c < 22; ++c) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      id.push_back(alphabet[(state >> 58) & 63]);
    }
    ids.push_back(id);
  }
  return ids;
}

std::map<std::string, std::string>
owners_of(const std::vector<std::string>& ids,
          const std::vector<std::string>& nodes) {
  std::map<std::string, std::string> owners;
  for (const auto& id : ids) {
    owners[id] = choose_owner(id, nodes).value();
  }
  return owners;
}

} // namespace

TEST_CASE("fnv1a_64 matches the published test vectors") {
  CHECK(fnv1a_64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a_64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a_64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("rendezvous weights are pinned across builds") {
  // Every node must compute the same weights, so a change of these values
  // moves accounts between nodes during a rolling upgrade. The expected
  // values were computed by a separate Python implementation of FNV-1a 64
  // and fmix64.
  CHECK(rendezvous_weight("node-a", "acct-1") == 0x332e1d647291940aULL);
  CHECK(rendezvous_weight("node-b", "acct-1") == 0x6af7db34359e6c14ULL);
}

TEST_CASE("node name and account id do not run together") {
  // Without the separator "ab" + "c" and "a" + "bc" would hash alike.
  CHECK(rendezvous_weight("ab", "c") != rendezvous_weight("a", "bc"));
}

TEST_CASE("owner is deterministic and order independent") {
  const std::vector<std::string> reversed = {"node-c", "node-b", "node-a"};
  const std::vector<std::string> duplicated = {"node-b", "node-a", "node-c",
                                               "node-a"};
  for (const auto& id : sample_account_ids(200)) {
    const auto owner = choose_owner(id, three_nodes);
    REQUIRE(owner);
    CHECK(choose_owner(id, three_nodes) == owner);
    CHECK(choose_owner(id, reversed) == owner);
    CHECK(choose_owner(id, duplicated) == owner);
  }
}

TEST_CASE("owner is the only node when one is live") {
  CHECK(choose_owner("acct-1", {"solo"}) == std::optional<std::string>("solo"));
}

TEST_CASE("no owner without live nodes") {
  CHECK_FALSE(choose_owner("acct-1", {}).has_value());
}

TEST_CASE("accounts spread evenly over three nodes") {
  // 10,000 ids over 3 nodes: the expected share is 3,333 and its standard
  // deviation about 47, so 5% (167) is 3.5 deviations.
  std::map<std::string, int> counts;
  for (const auto& [id, owner] :
       owners_of(sample_account_ids(10000), three_nodes)) {
    counts[owner]++;
  }
  REQUIRE(counts.size() == 3);
  for (const auto& [node, count] : counts) {
    INFO(node << " owns " << count << " of 10000");
    CHECK(count >= 3167);
    CHECK(count <= 3500);
  }
}

TEST_CASE("sequential ids spread evenly over three nodes") {
  std::map<std::string, int> counts;
  for (int i = 0; i < 10000; ++i) {
    counts[choose_owner("acct-" + std::to_string(i), three_nodes).value()]++;
  }
  REQUIRE(counts.size() == 3);
  for (const auto& [node, count] : counts) {
    INFO(node << " owns " << count << " of 10000");
    CHECK(count >= 3167);
    CHECK(count <= 3500);
  }
}

TEST_CASE("only the leaving node's accounts move") {
  const auto ids = sample_account_ids(10000);
  const auto before = owners_of(ids, three_nodes);
  const auto after = owners_of(ids, {"node-a", "node-c"});
  int moved = 0;
  for (const auto& id : ids) {
    if (before.at(id) == "node-b") {
      CHECK(after.at(id) != "node-b");
      ++moved;
    } else {
      CHECK(after.at(id) == before.at(id));
    }
  }
  // The accounts of node-b spread over both survivors.
  std::map<std::string, int> receivers;
  for (const auto& id : ids) {
    if (before.at(id) == "node-b") {
      receivers[after.at(id)]++;
    }
  }
  CHECK(moved > 0);
  CHECK(receivers["node-a"] > moved / 3);
  CHECK(receivers["node-c"] > moved / 3);
}

TEST_CASE("a joining node takes accounts only for itself") {
  const auto ids = sample_account_ids(10000);
  const auto before = owners_of(ids, three_nodes);
  const auto after =
    owners_of(ids, {"node-a", "node-b", "node-c", "node-d"});
  int moved = 0;
  for (const auto& id : ids) {
    if (after.at(id) != before.at(id)) {
      CHECK(after.at(id) == "node-d");
      ++moved;
    }
  }
  CHECK(moved > 2000);
  CHECK(moved < 3000);
}

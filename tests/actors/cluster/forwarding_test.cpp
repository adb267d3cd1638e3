#include "actors/cluster/message_types.hpp"
#include "actors/cluster_view.hpp"
#include "actors/forwarding.hpp"
#include "storage/crypto.hpp"
#include "storage/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace skyiq;
using namespace skyiq::actors;

namespace {

std::shared_ptr<const storage::master_key> key_of(char digit) {
  auto key = storage::master_key::from_hex(std::string(64, digit));
  REQUIRE(key);
  return *key;
}

peer_ptr make_peer(const std::string& name) {
  auto peer = std::make_shared<peer_link>();
  peer->name = name;
  return peer;
}

// Returns an account id that `view` assigns to `node`.
std::string account_owned_by(const cluster_view& view,
                             const std::string& node) {
  for (int i = 0; i < 1000; ++i) {
    auto id = "account-" + std::to_string(i);
    if (view.owner_of(id) == node) {
      return id;
    }
  }
  FAIL("no account id hashes to " << node);
  return {};
}

const std::string token = "0123456789abcdef0123456789abcdef";

} // namespace

TEST_CASE("lone node owns every account") {
  cluster_view view("gw-1");
  CHECK(view.owns("a"));
  CHECK(view.owns("b"));
  CHECK(view.owner_of("c") == "gw-1");
}

TEST_CASE("member counts only while linked") {
  cluster_view view("gw-1");
  view.set_members({"gw-1", "gw-2"});
  const auto before = view.generation();
  CHECK(view.owns("any account"));

  auto peer = make_peer("gw-2");
  view.add_peer(peer);
  CHECK(view.generation() == before + 1);
  const auto remote = account_owned_by(view, "gw-2");
  CHECK_FALSE(view.owns(remote));
  CHECK(view.peer("gw-2") == peer);

  view.drop_peer(peer);
  CHECK(peer->down);
  CHECK(view.peer("gw-2") == nullptr);
  CHECK(view.owns(remote));
}

TEST_CASE("linked peer counts only while a member") {
  cluster_view view("gw-1");
  view.add_peer(make_peer("gw-2"));
  view.set_members({"gw-1", "gw-2"});
  const auto remote = account_owned_by(view, "gw-2");
  view.set_members({"gw-1"});
  CHECK(view.owns(remote));
}

TEST_CASE("new link to a peer replaces the old one") {
  cluster_view view("gw-1");
  view.set_members({"gw-1", "gw-2"});
  auto old_link = make_peer("gw-2");
  auto new_link = make_peer("gw-2");
  view.add_peer(old_link);
  view.add_peer(new_link);
  CHECK(old_link->down);
  CHECK(view.peer("gw-2") == new_link);
  view.drop_peer(old_link);
  CHECK(view.peer("gw-2") == new_link);
}

TEST_CASE("forwarded setup seals the auth token") {
  forwarding link{nullptr, key_of('a'), nullptr};
  setup_request request{"AC" + std::string(32, '1'), token, "+14155550199",
                        "req-1"};
  auto wire = to_wire(request, "account-1", link);
  CHECK(wire.account_sid == request.account_sid);
  CHECK(wire.e164 == request.e164);
  CHECK(wire.request_id == request.request_id);
  CHECK_FALSE(wire.sealed_token.empty());
  CHECK(wire.sealed_token.find(token) == std::string::npos);

  auto opened = from_wire(wire, "account-1", *key_of('a'));
  REQUIRE(opened);
  CHECK(opened->auth_token == token);
  CHECK(opened->account_sid == request.account_sid);
}

TEST_CASE("forwarded token opens for its own account only") {
  forwarding link{nullptr, key_of('a'), nullptr};
  auto wire = to_wire(numbers_request{"AC1", token, "req-2"}, "account-1",
                      link);
  auto other_account = from_wire(wire, "account-2", *key_of('a'));
  REQUIRE_FALSE(other_account);
  CHECK(code_of(other_account.error()) == errc::internal);
  auto other_key = from_wire(wire, "account-1", *key_of('b'));
  REQUIRE_FALSE(other_key);
  CHECK(code_of(other_key.error()) == errc::internal);
}

TEST_CASE("forwarded listing without a token stays empty") {
  forwarding link{nullptr, key_of('a'), nullptr};
  auto wire = to_wire(numbers_request{"", "", "req-3"}, "account-1", link);
  CHECK(wire.sealed_token.empty());
  auto opened = from_wire(wire, "account-1", *key_of('a'));
  REQUIRE(opened);
  CHECK(opened->auth_token.empty());
}

TEST_CASE("forwarded setup without a token is invalid") {
  auto opened =
      from_wire(forwarded_setup{"AC1", "", "+14155550199", "req-4"},
                "account-1", *key_of('a'));
  REQUIRE_FALSE(opened);
  CHECK(code_of(opened.error()) == errc::invalid_request);
}

TEST_CASE("forwarded setup crosses a link as a message") {
  caf::actor_system_config config;
  caf::actor_system system(cluster::add_message_types(config));
  forwarding link{nullptr, key_of('a'), nullptr};
  auto wire = to_wire(
      setup_request{"AC1", token, "+14155550199", "req-5"}, "account-1",
      link);
  auto message = caf::make_message(forward_atom_v, std::string("account-1"),
                                   setup_atom_v, wire);
  std::vector<char> buffer;
  caf::binary_serializer sink{system, buffer};
  auto err = sink(message);
  INFO(system.render(err));
  REQUIRE_FALSE(err);
  caf::message copy;
  caf::binary_deserializer source{system, buffer};
  err = source(copy);
  INFO(system.render(err));
  REQUIRE_FALSE(err);
  REQUIRE(copy.match_element<forwarded_setup>(3));
  const auto& read = copy.get_as<forwarded_setup>(3);
  CHECK(read.sealed_token == wire.sealed_token);
  CHECK(read.e164 == wire.e164);
}

TEST_CASE("leases count as current until renewals lapse") {
  cluster_view view("gw-1");
  CHECK(view.leases_current(0));
  CHECK(view.leases_current(std::numeric_limits<std::int64_t>::max() - 1));
  view.set_leases_valid_until(1000);
  CHECK(view.leases_current(999));
  CHECK_FALSE(view.leases_current(1000));
  CHECK_FALSE(view.leases_current(5000));
}

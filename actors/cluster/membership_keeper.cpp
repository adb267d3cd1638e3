#include "actors/cluster/membership_keeper.hpp"

#include "actors/cluster/links.hpp"
#include "storage/errors.hpp"
#include "storage/leases.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/system_messages.hpp>

#include <Poco/Logger.h>

#include <map>
#include <set>

namespace skyiq::cluster {

namespace {

using namespace skyiq::actors;

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gateway.cluster");
  return instance;
}

class membership_keeper : public caf::event_based_actor {
public:
  membership_keeper(caf::actor_config& config, keeper_environment env)
      : caf::event_based_actor(config), env_(std::move(env)) {
    set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
  }

  const char* name() const override {
    return "membership-keeper";
  }

  // Drops the handles of the agent, the registry and the peers, so that no
  // reference cycle keeps this detached actor's thread waiting at shutdown.
  void on_exit() override {
    env_.agent = nullptr;
    env_.registry = nullptr;
    env_.opener = nullptr;
    linked_.clear();
  }

  caf::behavior make_behavior() override {
    send(this, tick_atom_v);
    return {
        [this](tick_atom) {
          on_tick();
          delayed_send(this, env_.interval, tick_atom_v);
        },
        [this](stop_atom) { return leave(); },
        [this](hello_atom, std::string& name, caf::actor& agent) {
          add_peer(name, std::move(agent), "inbound");
        },
    };
  }

private:
  void on_tick() {
    send_heartbeat();
    refresh_members();
    greet_linked_peers();
    renew_leases();
  }

  // Greets every peer whose link this node opened, once per heartbeat. A
  // peer that dropped the link on its side alone takes it back from the
  // greeting, because only this node would ever open that link again.
  void greet_linked_peers() {
    for (const auto& entry : linked_) {
      if (entry.first > env_.node) {
        request(entry.second->agent, env_.interval, hello_atom_v, env_.node,
                env_.agent)
            .then([](std::string&) {},
                  // A link that broke shows up as a down message.
                  [](caf::error&) {});
      }
    }
  }

  void send_heartbeat() {
    auto alive = env_.members->heartbeat(env_.node);
    caf::error err = alive ? caf::error{} : alive.error();
    if (alive && !*alive) {
      // Another node or an operator removed this node's row.
      auto again = env_.members->claim_name(env_.node, env_.address, env_.ttl);
      if (!again) {
        err = again.error();
      } else if (!*again) {
        err = make_error(errc::unavailable,
                         "another live process registered the node name " +
                             env_.node +
                             ": give every gateway node its own "
                             "cluster.node_name");
      }
    }
    report(err, "cluster-heartbeat-failed");
  }

  void refresh_members() {
    auto live = env_.members->live_nodes(env_.ttl);
    if (!live) {
      report(live.error(), "cluster-members-failed");
      return;
    }
    std::set<std::string> names;
    std::set<std::string> member_addresses;
    for (const auto& entry : *live) {
      names.insert(entry.name);
      addresses_[entry.name] = entry.address;
      if (auto it = linked_.find(entry.name); it != linked_.end()) {
        it->second->address = entry.address;
      }
      member_addresses.insert(entry.address);
      if (entry.name > env_.node && linked_.count(entry.name) == 0) {
        connect(entry.address);
      }
    }
    env_.view->set_members(std::move(names));
    // Configured peers that have not registered (yet) are linked by
    // address; their names come with the greeting.
    for (const auto& address : env_.peers) {
      if (member_addresses.count(address) == 0 && !linked_address(address)) {
        connect(address);
      }
    }
  }

  bool linked_address(const std::string& address) const {
    for (const auto& entry : linked_) {
      if (entry.second->address == address) {
        return true;
      }
    }
    return false;
  }

  void connect(const std::string& address) {
    auto target = split_address(address);
    if (!target || connecting_.count(address) > 0) {
      return;
    }
    connecting_.insert(address);
    request(env_.opener, env_.interval, caf::connect_atom_v, target->first,
            target->second)
        .then(
            [this, address](caf::node_id&, caf::strong_actor_ptr& agent,
                            std::set<std::string>&) {
              if (!agent) {
                connecting_.erase(address);
                return;
              }
              greet(address, caf::actor_cast<caf::actor>(agent));
            },
            [this, address](caf::error& err) {
              connecting_.erase(address);
              // Logged once per address until a link to it succeeds.
              if (unreachable_.insert(address).second) {
                logger().warning("peer-connect-failed message=\"cannot link "
                                 "to peer; retrying every heartbeat\" "
                                 "address=" +
                                 address + " error=\"" + message_of(err) +
                                 "\"");
              }
            });
  }

  // Introduces this node to a new link and learns the peer's name.
  void greet(const std::string& address, caf::actor agent) {
    request(agent, env_.interval, hello_atom_v, env_.node, env_.agent)
        .then(
            [this, address, agent](std::string& name) {
              connecting_.erase(address);
              unreachable_.erase(address);
              addresses_[name] = address;
              add_peer(name, agent, "outbound");
            },
            [this, address](caf::error& err) {
              connecting_.erase(address);
              if (unreachable_.insert(address).second) {
                logger().warning("peer-greeting-failed message=\"linked "
                                 "peer did not reply to hello\" address=" +
                                 address + " error=\"" + message_of(err) +
                                 "\"");
              }
            });
  }

  void add_peer(const std::string& name, caf::actor agent,
                const char* direction) {
    if (name == env_.node) {
      return;
    }
    if (auto known = linked_.find(name);
        known != linked_.end() && known->second->agent == agent) {
      return;
    }
    auto peer = std::make_shared<peer_link>();
    peer->name = name;
    auto known = addresses_.find(name);
    peer->address = known == addresses_.end() ? "unknown" : known->second;
    peer->agent = std::move(agent);
    monitor(peer->agent);
    if (auto old = linked_.find(name); old != linked_.end()) {
      demonitor(old->second->agent);
    }
    linked_[name] = peer;
    env_.view->add_peer(peer);
    logger().information("peer-connected message=\"linked to peer\" node=" +
                         name + " address=" + peer->address +
                         " direction=" + direction);
  }

  void on_down(const caf::down_msg& msg) {
    for (auto it = linked_.begin(); it != linked_.end(); ++it) {
      if (it->second->agent.address() == msg.source) {
        logger().warning("peer-down message=\"link to peer lost\" node=" +
                         it->first + " address=" + it->second->address);
        env_.view->drop_peer(it->second);
        linked_.erase(it);
        return;
      }
    }
  }

  void renew_leases() {
    const auto started = storage::now_ms();
    auto held = env_.leases->renew_all(env_.node, env_.ttl);
    report(held ? caf::error{} : held.error(), "lease-renewal-failed");
    if (!held) {
      return;
    }
    // Every lease still held now lasts at least a TTL from the start of
    // this renewal.
    env_.view->set_leases_valid_until(started + env_.ttl.count());
    request(env_.registry, env_.interval, reconcile_atom_v, std::move(*held),
            started)
        .then([this](std::vector<storage::lease>& release) { give_back(release); },
              [](caf::error& err) {
                logger().warning("lease-reconcile-failed message=\"registry "
                                 "did not reconcile leases\" error=\"" +
                                 message_of(err) + "\"");
              });
  }

  void give_back(const std::vector<storage::lease>& release) {
    for (const auto& item : release) {
      auto done =
          env_.leases->release(item.account_id, env_.node, item.epoch);
      if (!done) {
        report(done.error(), "lease-release-failed");
        continue;
      }
      logger().information("lease-released message=\"account handed "
                           "over\" account_id=" +
                           item.account_id +
                           " epoch=" + std::to_string(item.epoch));
    }
  }

  bool leave() {
    auto released = env_.leases->release_all(env_.node);
    auto removed = env_.members->deregister(env_.node);
    logger().information(
        "cluster-left message=\"node left the cluster\" node=" + env_.node +
        " leases_released=" +
        (released ? std::to_string(*released) : std::string("unknown")));
    if (!removed) {
      report(removed.error(), "cluster-leave-failed");
    }
    quit();
    return true;
  }

  // Logs the first failure of a streak and the recovery after it, so that
  // a database outage does not log once per tick.
  void report(const caf::error& err, const char* event) {
    auto& failing = failing_[event];
    if (err && !failing) {
      logger().error(std::string(event) + " node=" + env_.node +
                     " error=\"" + message_of(err) + "\"");
    } else if (!err && failing) {
      logger().information(std::string(event) + "-recovered node=" +
                           env_.node);
    }
    failing = static_cast<bool>(err);
  }

  keeper_environment env_;
  /// Links by peer name.
  std::map<std::string, peer_ptr> linked_;
  /// Link addresses by node name, from the membership table.
  std::map<std::string, std::string> addresses_;
  /// Addresses with a link being opened.
  std::set<std::string> connecting_;
  /// Addresses whose last link attempt failed.
  std::set<std::string> unreachable_;
  /// Events whose last attempt failed.
  std::map<std::string, bool> failing_;
};

} // namespace

caf::actor spawn_membership_keeper(caf::actor_system& system,
                                   keeper_environment env) {
  return system.spawn<membership_keeper, caf::detached>(std::move(env));
}

} // namespace skyiq::cluster

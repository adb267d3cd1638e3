#include "actors/cluster/node_agent.hpp"

#include "actors/forwarding.hpp"
#include "storage/errors.hpp"
#include "storage/types.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>

#include <tuple>

namespace skyiq::cluster {

namespace {

using namespace skyiq::actors;

class node_agent : public caf::event_based_actor {
public:
  node_agent(caf::actor_config& config, agent_environment env)
      : caf::event_based_actor(config), env_(std::move(env)) {}

  const char* name() const override {
    return "node-agent";
  }

  // The keeper keeps this actor's handle as well. Dropping it here breaks
  // the cycle that would keep both alive, and the actor system waiting at
  // shutdown.
  void on_exit() override {
    keeper_ = nullptr;
    env_.registry = nullptr;
  }

  caf::behavior make_behavior() override {
    return {
        [this](join_atom, caf::actor& keeper) { keeper_ = keeper; },
        [this](hello_atom, std::string& peer, caf::actor& agent) {
          if (keeper_) {
            send(keeper_, hello_atom_v, std::move(peer), std::move(agent));
          }
          return env_.view->self();
        },
        [this](forward_atom, const std::string& id, voice_atom a,
               twilio_request& r) { return serve<std::string>(id, a, r); },
        [this](forward_atom, const std::string& id, status_atom a,
               twilio_request& r) { return serve<bool>(id, a, r); },
        [this](forward_atom, const std::string& id, setup_atom,
               forwarded_setup& x) { return serve_setup(id, x); },
        [this](forward_atom, const std::string& id, numbers_atom,
               forwarded_numbers& x) { return serve_numbers(id, x); },
        [this](forward_atom, const std::string& id, profile_atom a) {
          return serve<storage::business_profile>(id, a);
        },
        [this](forward_atom, const std::string& id, update_atom a,
               profile_patch& p) {
          return serve<storage::business_profile>(id, a, p);
        },
        [this](forward_atom, const std::string& id, list_atom a,
               storage::call_query& q) {
          return serve<storage::call_page>(id, a, q);
        },
        [this](forward_atom, const std::string& id, create_atom a,
               storage::call_record& c) {
          return serve<storage::call_record>(id, a, c);
        },
        [this](forward_atom, const std::string& id, delete_atom a,
               std::string& call_id) { return serve<bool>(id, a, call_id); },
    };
  }

private:
  template <class... Ts>
  using args_ptr = std::shared_ptr<const std::tuple<Ts...>>;

  caf::response_promise serve_setup(const std::string& id,
                                    const forwarded_setup& x) {
    auto request = from_wire(x, id, *env_.key);
    if (!request) {
      return failed(std::move(request.error()));
    }
    return serve<setup_result>(id, setup_atom_v, std::move(*request));
  }

  caf::response_promise serve_numbers(const std::string& id,
                                      const forwarded_numbers& x) {
    auto request = from_wire(x, id, *env_.key);
    if (!request) {
      return failed(std::move(request.error()));
    }
    return serve<number_list>(id, numbers_atom_v, std::move(*request));
  }

  caf::response_promise failed(caf::error err) {
    auto rp = make_response_promise();
    rp.deliver(std::move(err));
    return rp;
  }

  template <class Result, class... Ts>
  caf::response_promise serve(const std::string& id, Ts... xs) {
    if (!env_.view->owns(id)) {
      return failed(make_error(
          errc::unavailable, "account " + id + " is served by gateway node " +
                                 env_.view->owner_of(id) +
                                 ", not this one: retry the request"));
    }
    if (!env_.view->leases_current(storage::now_ms())) {
      return failed(make_error(errc::unavailable,
                               "gateway node " + env_.view->self() +
                                   " missed its lease renewals: retry the "
                                   "request"));
    }
    auto rp = make_response_promise();
    auto args = std::make_shared<const std::tuple<Ts...>>(std::move(xs)...);
    ask<Result>(rp, id, 1, args);
    return rp;
  }

  // Looks the account's actor up and sends it the request. An actor that
  // exited on idleness between the two steps is looked up once more.
  template <class Result, class... Ts>
  void ask(caf::response_promise rp, const std::string& id, int retries,
           args_ptr<Ts...> args) {
    request(env_.registry, caf::infinite, account_atom_v, id)
        .then(
            [=](account_actor& target) mutable {
              auto send = [&](const Ts&... ys) {
                return request(target, caf::infinite, ys...);
              };
              std::apply(send, *args)
                  .then([rp](Result& r) mutable { rp.deliver(std::move(r)); },
                        [=](caf::error& e) mutable {
                          if (retries > 0 &&
                              e == caf::sec::request_receiver_down) {
                            ask<Result>(rp, id, retries - 1, args);
                            return;
                          }
                          rp.deliver(std::move(e));
                        });
            },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  }

  agent_environment env_;
  /// Takes the peers that link to this node.
  caf::actor keeper_;
};

} // namespace

caf::actor spawn_node_agent(caf::actor_system& system, agent_environment env) {
  return system.spawn<node_agent>(std::move(env));
}

} // namespace skyiq::cluster

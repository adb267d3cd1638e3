#pragma once

#include "actors/forwarding.hpp"
#include "actors/interfaces.hpp"
#include "actors/reply_actor.hpp"
#include "storage/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace skyiq::actors {

/// Lets threads that are not actors (Poco's HTTP workers) ask actors and
/// wait for the answer, without spawning an actor per request. A few
/// event-based bridge actors send the requests; each reply fulfils a
/// promise the calling thread waits on, with its own deadline.
class bridge {
public:
  bridge(caf::actor_system& system, std::size_t actors);
  ~bridge();

  bridge(const bridge&) = delete;
  bridge& operator=(const bridge&) = delete;

  /// Makes the bridge send requests for accounts that another node owns to
  /// that node's agent. Call it before any request.
  void enable_forwarding(std::shared_ptr<const forwarding> link) {
    forward_ = std::move(link);
  }

  /// Asks `account_id`'s actor and waits at most `timeout` for its
  /// `Result`. The actor's handle comes from a cache, or else from
  /// `registry`, which activates the account. A handle whose actor exited on
  /// idleness is dropped and looked up once more.
  template <class Result, class... Ts>
  caf::expected<Result>
  ask_account(const registry_actor& registry, const std::string& account_id,
              std::chrono::milliseconds timeout, Ts... xs) {
    if (forward_) {
      auto owner = forward_->view->owner_of(account_id);
      if (owner != forward_->view->self()) {
        return ask_peer<Result>(owner, account_id, timeout, xs...);
      }
      if (auto err = check_leases_current()) {
        return err;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto cached = handles_->find(account_id);
    if (cached) {
      // A cached handle is asked straight from this thread; only a
      // lookup in the registry goes through a bridge actor.
      auto direct = std::make_shared<reply_promise<Result>>();
      auto future = direct->get_future();
      send_request<Result>(*system_, *cached, direct, xs...);
      auto result = wait(future, timeout);
      if (result || !is_receiver_down(result.error())) {
        return result;
      }
      handles_->erase(account_id);
    }
    auto done = std::make_shared<std::promise<caf::expected<Result>>>();
    auto future = done->get_future();
    auto handles = handles_;
    auto args = std::make_shared<const std::tuple<Ts...>>(std::move(xs)...);
    auto job = [=](caf::event_based_actor* self) {
      lookup_and_ask<Result>(self, registry, handles, account_id, done, 1,
                             args);
    };
    caf::anon_send(next_actor(), bridge_job{job});
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return wait(future, std::max(left, std::chrono::milliseconds(0)));
  }

  /// Asks `dest` directly and waits at most `timeout` for its `Result`.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> ask(const Handle& dest,
                            std::chrono::milliseconds timeout, Ts... xs) {
    auto done = std::make_shared<std::promise<caf::expected<Result>>>();
    auto future = done->get_future();
    auto job = [=](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, xs...)
          .then([done](Result& r) { done->set_value(std::move(r)); },
                [done](caf::error& e) { done->set_value(std::move(e)); });
    };
    caf::anon_send(next_actor(), bridge_job{job});
    return wait(future, timeout);
  }

private:
  /// Sends a request for `account_id` to the agent of `owner`, the node
  /// that owns the account, and waits for the reply. It fails at once
  /// when there is no link to `owner` and as soon as the link breaks: CAF
  /// 0.17 does not fail requests in flight to a node that died.
  template <class Result, class... Ts>
  caf::expected<Result> ask_peer(const std::string& owner,
                                 const std::string& account_id,
                                 std::chrono::milliseconds timeout,
                                 const Ts&... xs) {
    auto peer = forward_->view->peer(owner);
    if (!peer) {
      return make_error(errc::unavailable,
                        "gateway node " + owner + ", which serves account " +
                            account_id +
                            ", is not reachable: retry the request");
    }
    if (forward_->forwarded) {
      ++*forward_->forwarded;
    }
    auto done = std::make_shared<std::promise<caf::expected<Result>>>();
    auto future = done->get_future();
    auto wire = std::make_tuple(forward_atom_v, account_id,
                                to_wire(xs, account_id, *forward_)...);
    auto args = std::make_shared<const decltype(wire)>(std::move(wire));
    auto job = [done, args, agent = peer->agent,
                timeout](caf::event_based_actor* self) {
      auto send = [&](const auto&... ys) {
        return self->request(agent, timeout, ys...);
      };
      std::apply(send, *args).then(
          [done](Result& r) { done->set_value(std::move(r)); },
          [done](caf::error& e) { done->set_value(std::move(e)); });
    };
    caf::anon_send(next_actor(), bridge_job{job});
    return wait_peer(future, timeout, *peer);
  }

  caf::error check_leases_current() const;

  template <class Result>
  static caf::expected<Result>
  wait_peer(std::future<caf::expected<Result>>& future,
            std::chrono::milliseconds timeout, const peer_link& peer) {
    constexpr std::chrono::milliseconds slice{20};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        return make_error(errc::unavailable,
                          "gateway node " + peer.name +
                              " did not answer in time: retry later");
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                now);
      if (future.wait_for(std::min(left, slice)) ==
          std::future_status::ready) {
        return future.get();
      }
      if (peer.down) {
        return make_error(errc::unavailable,
                          "gateway node " + peer.name +
                              " left the cluster while serving the "
                              "request: retry the request");
      }
    }
  }

  /// Account actor handles by account id, shared by the bridge actors and
  /// the calling threads.
  class handle_cache {
  public:
    std::optional<account_actor> find(const std::string& account_id);
    void store(const std::string& account_id, const account_actor& handle);
    void erase(const std::string& account_id);

  private:
    std::mutex mutex_;
    std::unordered_map<std::string, account_actor> handles_;
  };

  using cache_ptr = std::shared_ptr<handle_cache>;

  template <class Result>
  using done_ptr = std::shared_ptr<std::promise<caf::expected<Result>>>;

  template <class... Ts>
  using args_ptr = std::shared_ptr<const std::tuple<Ts...>>;

  template <class Result, class... Ts>
  static void
  lookup_and_ask(caf::event_based_actor* self, const registry_actor& registry,
                 const cache_ptr& handles, const std::string& account_id,
                 done_ptr<Result> done, int retries, args_ptr<Ts...> args) {
    self->request(registry, caf::infinite, account_atom_v, account_id)
        .then(
            [=](account_actor& target) {
              handles->store(account_id, target);
              ask_target<Result>(self, target, registry, handles, account_id,
                                 done, retries, args);
            },
            [done](caf::error& e) { done->set_value(std::move(e)); });
  }

  template <class Result, class... Ts>
  static void
  ask_target(caf::event_based_actor* self, const account_actor& target,
             const registry_actor& registry, const cache_ptr& handles,
             const std::string& account_id, done_ptr<Result> done,
             int retries, args_ptr<Ts...> args) {
    auto send = [&](const Ts&... xs) {
      return self->request(target, caf::infinite, xs...);
    };
    std::apply(send, *args)
        .then([done](Result& r) { done->set_value(std::move(r)); },
              [=](caf::error& e) {
                if (retries > 0 && is_receiver_down(e)) {
                  handles->erase(account_id);
                  lookup_and_ask<Result>(self, registry, handles, account_id,
                                         done, retries - 1, args);
                  return;
                }
                done->set_value(std::move(e));
              });
  }

  static bool is_receiver_down(const caf::error& err) {
    return err == caf::sec::request_receiver_down;
  }

  template <class Result>
  static caf::expected<Result> wait(std::future<caf::expected<Result>>& future,
                                    std::chrono::milliseconds timeout) {
    // The bridge actors send their requests without a CAF timeout: CAF 0.17
    // keeps a request's timeout in its clock until it fires, even after the
    // reply, which cost a clock entry per request for `timeout`. The
    // calling thread enforces the deadline instead, and a late reply only
    // fulfils a promise that no thread waits for any more.
    if (future.wait_for(timeout) != std::future_status::ready) {
      return make_error(errc::unavailable,
                        "the gateway did not answer in time: retry later");
    }
    return future.get();
  }

  caf::actor next_actor();

  caf::actor_system* system_;
  std::vector<caf::actor> actors_;
  std::atomic<std::size_t> next_{0};
  cache_ptr handles_ = std::make_shared<handle_cache>();
  /// Null on a single node.
  std::shared_ptr<const forwarding> forward_;
};

} // namespace skyiq::actors

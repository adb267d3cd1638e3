#pragma once

#include "storage/errors.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_config.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/response_type.hpp>

#include <atomic>
#include <future>
#include <memory>

namespace skyiq::actors {

template <class Result>
using reply_promise = std::promise<caf::expected<Result>>;

/// The sender of one request from a thread that is not an actor. It has no
/// mailbox: `enqueue` runs on the replying actor's thread and fulfils the
/// promise at once, the way CAF's actor_pool forwards in `enqueue`. That
/// saves the hand-over through a scheduled actor on the way back.
template <class Result>
class reply_actor : public caf::monitorable_actor {
public:
  reply_actor(caf::actor_config& config,
              std::shared_ptr<reply_promise<Result>> done)
      : caf::monitorable_actor(config), done_(std::move(done)) {}

  /// Creates a sender for one request whose reply goes to `done`.
  static caf::strong_actor_ptr
  make(caf::actor_system& system,
       std::shared_ptr<reply_promise<Result>> done) {
    caf::actor_config config;
    auto handle = caf::make_actor<reply_actor, caf::actor>(
        system.next_actor_id(), system.node(), &system, config,
        std::move(done));
    return caf::actor_cast<caf::strong_actor_ptr>(handle);
  }

  void enqueue(caf::mailbox_element_ptr element,
               caf::execution_unit*) override {
    if (!element || !element->mid.is_response()
        || answered_.exchange(true)) {
      return;
    }
    auto& content = element->content();
    if (content.match_elements<Result>()) {
      done_->set_value(std::move(content.get_mutable_as<Result>(0)));
    } else if (content.match_elements<caf::error>()) {
      done_->set_value(std::move(content.get_mutable_as<caf::error>(0)));
    } else {
      done_->set_value(
          make_error(errc::internal, "an actor replied with an unexpected "
                                     "message type"));
    }
  }

  // A request dropped without a reply (its receiver ended, say) releases
  // the last reference to this actor, so the caller learns at once.
  void on_destroy() override {
    if (!answered_.exchange(true)) {
      done_->set_value(make_error(errc::unavailable,
                                  "the request was dropped without a reply: "
                                  "retry later"));
    }
    if (!getf(is_cleaned_up_flag)) {
      cleanup(caf::exit_reason::unreachable, nullptr);
      caf::monitorable_actor::on_destroy();
    }
  }

  const char* name() const override {
    return "reply";
  }

private:
  std::shared_ptr<reply_promise<Result>> done_;
  std::atomic<bool> answered_{false};
};

/// Sends `xs...` to `dest` as a request from a new reply_actor whose reply
/// fulfils `done`. Safe to call from any thread.
template <class Result, class Handle, class... Ts>
void send_request(caf::actor_system& system, const Handle& dest,
                  std::shared_ptr<reply_promise<Result>> done,
                  const Ts&... xs) {
  static_assert(caf::response_type_unbox<caf::signatures_of_t<Handle>,
                                         caf::detail::type_list<Ts...>>::valid,
                "the receiver does not accept this request");
  auto sender = reply_actor<Result>::make(system, std::move(done));
  auto* receiver = caf::actor_cast<caf::abstract_actor*>(dest);
  receiver->enqueue(caf::make_mailbox_element(std::move(sender),
                                              caf::make_message_id(1), {},
                                              xs...),
                    nullptr);
}

} // namespace skyiq::actors

#include "actors/writer.hpp"

#include "storage/call_writer.hpp"
#include "storage/errors.hpp"

#include <caf/blocking_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/response_promise.hpp>
#include <caf/typed_response_promise.hpp>

#include <Poco/Logger.h>

#include <optional>
#include <string>

namespace skyiq::actors {

namespace {

struct pending_write {
  storage::call_write write;
  caf::response_promise promise;
  /// Sent instead of the record once the write is durable, when set.
  std::optional<std::string> answer;
};

class batch_loop {
public:
  batch_loop(caf::blocking_actor* self,
             std::shared_ptr<storage::call_writer> writer,
             std::size_t max_batch, batch_observer observer)
      : self_(self), writer_(std::move(writer)), max_batch_(max_batch),
        observer_(std::move(observer)) {}

  void run() {
    while (running_) {
      receive_one(caf::infinite);
      while (running_ && batch_.size() < max_batch_ && receive_one_now()) {
      }
      commit();
    }
    commit();
  }

private:
  bool receive_one_now() {
    bool received = true;
    self_->receive(
        [&](write_atom, storage::call_write& write) {
          enqueue(std::move(write));
        },
        [&](write_atom, storage::call_write& write, std::string& answer) {
          enqueue(std::move(write), std::move(answer));
        },
        [&](stop_atom) { running_ = false; },
        [&](caf::exit_msg&) { running_ = false; },
        caf::after(std::chrono::seconds(0)) >> [&] { received = false; });
    return received;
  }

  void receive_one(caf::infinite_t) {
    self_->receive(
        [&](write_atom, storage::call_write& write) {
          enqueue(std::move(write));
        },
        [&](write_atom, storage::call_write& write, std::string& answer) {
          enqueue(std::move(write), std::move(answer));
        },
        [&](stop_atom) { running_ = false; },
        [&](caf::exit_msg&) { running_ = false; });
  }

  void enqueue(storage::call_write&& write,
               std::optional<std::string> answer = std::nullopt) {
    batch_.push_back(
        {std::move(write), self_->make_response_promise(), std::move(answer)});
  }

  void commit() {
    if (batch_.empty()) {
      return;
    }
    std::vector<storage::call_write> writes;
    writes.reserve(batch_.size());
    for (auto& item : batch_) {
      writes.push_back(std::move(item.write));
    }
    auto results = writer_->commit(writes);
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      if (i < results.size() && results[i] && batch_[i].answer) {
        batch_[i].promise.deliver(std::move(*batch_[i].answer));
      } else if (i < results.size() && results[i]) {
        batch_[i].promise.deliver(std::move(*results[i]));
      } else if (i < results.size()) {
        batch_[i].promise.deliver(std::move(results[i].error()));
      } else {
        batch_[i].promise.deliver(
            make_error(errc::internal, "call writer returned no result"));
      }
    }
    if (observer_) {
      observer_(batch_.size());
    }
    batch_.clear();
  }

  caf::blocking_actor* self_;
  std::shared_ptr<storage::call_writer> writer_;
  std::size_t max_batch_;
  batch_observer observer_;
  std::vector<pending_write> batch_;
  bool running_ = true;
};

} // namespace

writer_actor spawn_writer(caf::actor_system& system,
                          std::shared_ptr<storage::call_writer> writer,
                          std::size_t max_batch, batch_observer observer) {
  auto handle = system.spawn<caf::detached>(
      [writer, max_batch, observer](caf::blocking_actor* self) {
        batch_loop loop(self, writer, max_batch, observer);
        loop.run();
      });
  return caf::actor_cast<writer_actor>(handle);
}

} // namespace skyiq::actors

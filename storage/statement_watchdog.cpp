#include "storage/statement_watchdog.hpp"

#include <Poco/Data/PostgreSQL/SessionImpl.h>
#include <Poco/Data/Session.h>

#include <libpq-fe.h>
#include <sys/socket.h>

namespace skyiq::storage {

int postgres_socket(Poco::Data::Session& session) {
  auto* impl =
    dynamic_cast<Poco::Data::PostgreSQL::SessionImpl*>(session.impl());
  if (impl == nullptr) {
    return -1;
  }
  // The conversion reads the handle's pointer without taking its mutex,
  // which a statement running on another thread may hold.
  PGconn* connection = impl->handle();
  return connection == nullptr ? -1 : PQsocket(connection);
}

statement_watchdog::statement_watchdog() : thread_([this] { run(); }) {
}

statement_watchdog::~statement_watchdog() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

std::uint64_t statement_watchdog::arm(int socket,
                                      std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::uint64_t ticket = 0;
  bool wake = false;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    ticket = next_ticket_++;
    watches_.emplace(ticket, watch{socket, deadline});
    // Most deadlines come after the one the thread already waits for, so
    // waking it for them would cost a context switch per statement.
    wake = deadline < next_wake_;
    if (wake) {
      next_wake_ = deadline;
    }
  }
  if (wake) {
    changed_.notify_all();
  }
  return ticket;
}

bool statement_watchdog::disarm(std::uint64_t ticket) {
  std::lock_guard<std::mutex> guard(mutex_);
  auto found = watches_.find(ticket);
  if (found == watches_.end()) {
    return false;
  }
  bool fired = found->second.fired;
  watches_.erase(found);
  return fired;
}

void statement_watchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    auto next = std::chrono::steady_clock::time_point::max();
    for (auto& [ticket, entry] : watches_) {
      if (entry.fired) {
        continue;
      }
      if (entry.deadline <= now) {
        // Under the mutex, so `disarm` cannot return in between and let
        // the socket be closed and its descriptor reused.
        ::shutdown(entry.socket, SHUT_RDWR);
        entry.fired = true;
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    next_wake_ = next;
    if (next == std::chrono::steady_clock::time_point::max()) {
      changed_.wait(lock);
    } else {
      changed_.wait_until(lock, next);
    }
  }
}

} // namespace skyiq::storage

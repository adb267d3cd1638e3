#include "http/read_deadlines.hpp"

#include <Poco/Exception.h>

#include <vector>

namespace skyiq::http {

namespace {

std::int64_t ticks(read_deadlines::clock::time_point t) {
  return t.time_since_epoch().count();
}

} // namespace

void read_deadlines::watch::expect_by(clock::time_point deadline) {
  deadline_.store(ticks(deadline), std::memory_order_relaxed);
}

void read_deadlines::watch::clear() {
  deadline_.store(none, std::memory_order_relaxed);
}

read_deadlines::read_deadlines(
  std::chrono::milliseconds tick,
  std::function<void(const Poco::Net::StreamSocket&)> on_expired)
  : tick_(tick), on_expired_(std::move(on_expired)),
    thread_([this] { run(); }) {
}

read_deadlines::~read_deadlines() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
}

read_deadlines::watch*
read_deadlines::add(const Poco::Net::StreamSocket& socket,
                    clock::time_point deadline) {
  std::lock_guard<std::mutex> guard(mutex_);
  // A std::list keeps every element's address while others come and go.
  auto& added = watches_.emplace_back(socket);
  added.expect_by(deadline);
  return &added;
}

void read_deadlines::remove(watch* w) {
  std::lock_guard<std::mutex> guard(mutex_);
  for (auto it = watches_.begin(); it != watches_.end(); ++it) {
    if (&*it == w) {
      watches_.erase(it);
      return;
    }
  }
}

void read_deadlines::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_.wait_for(lock, tick_, [this] { return stopping_; })) {
    const auto now = ticks(clock::now());
    std::vector<Poco::Net::StreamSocket> expired;
    for (auto& w : watches_) {
      if (!w.fired_ && w.deadline_.load(std::memory_order_relaxed) <= now) {
        w.fired_ = true;
        try {
          w.socket_.shutdown();
        } catch (const Poco::Exception&) {
          // The client closed the connection already.
        }
        expired.push_back(w.socket_);
      }
    }
    if (expired.empty() || !on_expired_) {
      continue;
    }
    lock.unlock();
    for (const auto& socket : expired) {
      on_expired_(socket);
    }
    lock.lock();
  }
}

} // namespace skyiq::http

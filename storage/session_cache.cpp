#include "storage/session_cache.hpp"

#include <algorithm>

namespace skyiq::storage {

session_cache::session_cache(std::chrono::milliseconds ttl,
                             std::size_t max_entries)
  : ttl_(ttl), max_entries_(max_entries) {
}

std::optional<std::string> session_cache::find(const std::string& token_hash,
                                               timestamp_ms now) {
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = entries_.find(token_hash);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  if (it->second.valid_until <= now) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.account_id;
}

session_cache::generation session_cache::begin_lookup() {
  std::lock_guard<std::mutex> guard(mutex_);
  return generation_;
}

void session_cache::store(const std::string& token_hash,
                          const std::string& account_id,
                          timestamp_ms expires_at, generation seen,
                          timestamp_ms now) {
  if (ttl_.count() <= 0 || max_entries_ == 0) {
    return;
  }
  std::lock_guard<std::mutex> guard(mutex_);
  if (seen != generation_) {
    return;
  }
  if (entries_.size() >= max_entries_) {
    // Entries live for seconds, so starting over costs one lookup each.
    entries_.clear();
  }
  entries_[token_hash] = entry{account_id,
                               std::min(expires_at, now + ttl_.count())};
}

void session_cache::erase(const std::string& token_hash) {
  std::lock_guard<std::mutex> guard(mutex_);
  ++generation_;
  entries_.erase(token_hash);
}

} // namespace skyiq::storage

#pragma once

#include "storage/types.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace skyiq::storage {

/// Live sessions this process looked up recently, by token hash, so that a
/// dashboard request does not query the sessions table every time.
/// Thread-safe. An entry is used for at most `ttl` after its lookup and
/// never past the session's own expiry. `erase` takes effect at once, also
/// against a lookup that was running in the database at that moment, so a
/// logout through this process ends the session here immediately.
class session_cache {
public:
  /// A generation read before a database lookup and passed to `store`.
  using generation = std::uint64_t;

  session_cache(std::chrono::milliseconds ttl, std::size_t max_entries);

  /// Returns the account id of a cached, unexpired session.
  std::optional<std::string> find(const std::string& token_hash,
                                  timestamp_ms now);

  /// Returns the generation to pass to `store` after the lookup.
  generation begin_lookup();

  /// Caches a session found in the database, unless an `erase` happened
  /// since `begin_lookup` returned `seen`.
  void store(const std::string& token_hash, const std::string& account_id,
             timestamp_ms expires_at, generation seen, timestamp_ms now);

  /// Drops the session of `token_hash`.
  void erase(const std::string& token_hash);

private:
  struct entry {
    std::string account_id;
    /// The earlier of the session's expiry and the end of the cache TTL.
    timestamp_ms valid_until;
  };

  std::chrono::milliseconds ttl_;
  std::size_t max_entries_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  generation generation_ = 0;
};

} // namespace skyiq::storage

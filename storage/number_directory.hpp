#pragma once

#include <caf/expected.hpp>

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace skyiq::storage {

class database;

/// Routing of webhooks: which account owns an E.164 number. The only
/// lookup across accounts, and it returns nothing but the account id.
/// Thread-safe.
class number_directory {
public:
  explicit number_directory(std::shared_ptr<database> db);

  /// Returns the account that claimed exactly `e164`, or nullopt. Found
  /// owners are cached, because a claimed number is never released or
  /// moved to another account. Errors: errc::unavailable.
  caf::expected<std::optional<std::string>> owner_of(const std::string& e164);

private:
  std::shared_ptr<database> db_;
  std::shared_mutex mutex_;
  std::unordered_map<std::string, std::string> owners_;
};

} // namespace skyiq::storage

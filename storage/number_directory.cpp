#include "storage/number_directory.hpp"

#include "storage/database.hpp"
#include "storage/sql.hpp"

#include <mutex>

namespace skyiq::storage {

number_directory::number_directory(std::shared_ptr<database> db)
  : db_(std::move(db)) {
}

caf::expected<std::optional<std::string>>
number_directory::owner_of(const std::string& e164) {
  {
    std::shared_lock<std::shared_mutex> guard(mutex_);
    auto cached = owners_.find(e164);
    if (cached != owners_.end()) {
      return std::optional<std::string>{cached->second};
    }
  }
  using result_type = caf::expected<std::optional<std::string>>;
  auto owner = with_connection(
    db_->pool(), "look up number owner",
    [&](sql_connection& connection) -> result_type {
      auto row = connection.query_one(
        "SELECT account_id FROM numbers WHERE e164 = ?", {e164});
      return row ? std::optional<std::string>{row->text(0)} : std::nullopt;
    });
  if (owner && *owner) {
    std::unique_lock<std::shared_mutex> guard(mutex_);
    owners_.emplace(e164, **owner);
  }
  return owner;
}

} // namespace skyiq::storage

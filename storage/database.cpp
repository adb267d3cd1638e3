#include "storage/database.hpp"

#include "storage/errors.hpp"
#include "storage/file_lock.hpp"
#include "storage/migrations.hpp"
#include "storage/sql.hpp"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Logger.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace skyiq::storage {

bool use_multithreaded_sqlite() {
  using Poco::Data::SQLite::Utility;
  return Utility::setThreadMode(Utility::THREAD_MODE_MULTI);
}

namespace {

void register_connectors() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
  });
}

caf::expected<std::unique_ptr<file_lock>>
lock_sqlite_file(const storage_target& target) {
  if (!make_parent_directories(target.sqlite_path)) {
    return make_error(errc::unavailable,
                      "cannot create the directory of SQLite database "
                        + target.sqlite_path + ": " + std::strerror(errno));
  }
  return file_lock::acquire(target.sqlite_path + ".lock",
                            "SQLite database " + target.sqlite_path);
}

} // namespace

caf::expected<std::shared_ptr<database>>
database::open(const database_options& options) {
  register_connectors();
  auto target = parse_storage_url(options.url);
  if (!target) {
    return target.error();
  }
  std::shared_ptr<database> db{new database};
  if (target->backend == backend_kind::sqlite) {
    auto lock = lock_sqlite_file(*target);
    if (!lock) {
      return lock.error();
    }
    db->lock_ = std::move(*lock);
  }
  pool_options pool_settings;
  pool_settings.max_size = options.pool_size;
  pool_settings.busy_timeout = options.busy_timeout;
  pool_settings.acquire_timeout = options.acquire_timeout;
  pool_settings.statement_timeout = options.statement_timeout;
  pool_settings.on_failure = options.on_failure;
  db->pool_ = std::make_unique<connection_pool>(*target, pool_settings);
  auto version = migrate(*db->pool_);
  if (!version) {
    return version.error();
  }
  db->schema_version_ = *version;
  Poco::Logger::get("gateway.storage")
    .information("storage-opened backend=" + db->backend()
                 + " url=" + db->display_url()
                 + " schema_version=" + std::to_string(*version)
                 + " pool_size=" + std::to_string(options.pool_size)
                 + " busy_timeout_ms="
                 + std::to_string(options.busy_timeout.count())
                 + " acquire_timeout_ms="
                 + std::to_string(options.acquire_timeout.count())
                 + " statement_timeout_ms="
                 + std::to_string(options.statement_timeout.count()));
  return db;
}

database::~database() = default;

bool database::ping() {
  auto result = with_connection(*pool_, "ping",
                                [](sql_connection& connection)
                                  -> caf::expected<bool> {
                                  connection.query("SELECT 1");
                                  return true;
                                });
  return result && *result;
}

std::string database::backend() const {
  return backend_name(pool_->backend());
}

const std::string& database::display_url() const {
  return pool_->target().display;
}

} // namespace skyiq::storage

#include "test_support.hpp"

#include "storage/errors.hpp"
#include "storage/storage_url.hpp"

#include <catch2/catch.hpp>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include <cstdlib>
#include <filesystem>

namespace skyiq::storage::test {

argon2_params cheap_argon2() {
  argon2_params params;
  params.memory_kib = 64;
  params.iterations = 1;
  return params;
}

temp_dir::temp_dir() {
  char pattern[] = "/tmp/skyiq-storage-test.XXXXXX";
  auto* created_path = ::mkdtemp(pattern);
  REQUIRE(created_path != nullptr);
  path_ = created_path;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool testing_postgres() {
#ifdef SKYIQ_TEST_BACKEND_POSTGRES
  return true;
#else
  return false;
#endif
}

std::string postgres_url() {
  const char* url = std::getenv("SKYIQ_TEST_POSTGRES_URL");
  if (url == nullptr || *url == '\0') {
    FAIL("SKYIQ_TEST_POSTGRES_URL is not set; set it to a PostgreSQL URL "
         "such as postgresql://postgres@127.0.0.1:55432/postgres");
  }
  return url;
}

void postgres_admin(const std::string& sql) {
  Poco::Data::PostgreSQL::Connector::registerConnector();
  auto target = parse_storage_url(postgres_url());
  REQUIRE(target);
  Poco::Data::Session session("PostgreSQL", target->connection_string);
  Poco::Data::Statement quiet(session);
  quiet << "SET client_min_messages = warning";
  quiet.execute();
  Poco::Data::Statement statement(session);
  statement << sql;
  statement.execute();
}

std::string in_schema(const std::string& url, const std::string& schema) {
  if (url.rfind("postgres", 0) == 0) {
    auto separator = url.find('?') == std::string::npos ? "?" : "&";
    return url + separator + "options=-csearch_path%3D" + schema
           + "&application_name=" + schema;
  }
  return url + " options=-csearch_path=" + schema
         + " application_name=" + schema;
}

test_store::test_store() {
  auto key = master_key::load_or_create(dir_.path() + "/master.key");
  REQUIRE(key);
  key_ = *key;
  if (testing_postgres()) {
    schema_ = "skyiq_test_" + sha256_hex(random_id()).substr(0, 16);
    postgres_admin("CREATE SCHEMA " + schema_);
    url_ = in_schema(postgres_url(), schema_);
  } else {
    url_ = "sqlite:" + dir_.path() + "/gateway.db";
  }
  open();
}

test_store::~test_store() {
  db_.reset();
  if (!schema_.empty()) {
    try {
      postgres_admin("DROP SCHEMA " + schema_ + " CASCADE");
    } catch (...) {
      // A schema left behind only costs space on the throwaway server.
    }
  }
}

database_options test_store::options() const {
  database_options options;
  options.url = url_;
  options.pool_size = 4;
  return options;
}

std::shared_ptr<database> test_store::open() {
  auto db = database::open(options());
  if (!db) {
    FAIL("cannot open the test store: " << message_of(db.error()));
  }
  db_ = *db;
  return db_;
}

std::string test_store::new_account(const std::string& email) {
  user_store users(db_, cheap_argon2(), std::chrono::hours(1));
  auto session = users.signup(email, "correct horse battery");
  if (!session) {
    FAIL("signup of " << email << " failed: "
                      << message_of(session.error()));
  }
  return session->account_id;
}

account_store test_store::store_for(const std::string& account_id) const {
  return account_store(db_, key_, account_id);
}

call_record sample_call(const std::string& call_sid,
                        const std::string& status) {
  call_record call;
  call.call_sid = call_sid;
  call.from = "+15550001111";
  call.to = "+15550002222";
  call.direction = "inbound";
  call.status = status;
  return call;
}

} // namespace skyiq::storage::test

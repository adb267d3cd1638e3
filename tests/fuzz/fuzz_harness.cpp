#include "tests/fuzz/fuzz_harness.hpp"

#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/number_directory.hpp"
#include "storage/user_store.hpp"

#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace skyiq::fuzzing {

namespace {

// tmpfs keeps SQLite's fsync per commit from dominating the run time.
std::string make_scratch_dir() {
  const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string pattern = std::string(base) + "/skyiq-fuzz.XXXXXX";
  if (!mkdtemp(pattern.data())) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  return pattern;
}

// Returns a loopback port that was free a moment ago and now has no
// listener, so Twilio requests fail at connect without leaving the host.
std::uint16_t closed_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (fd < 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot bind a loopback port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

template <class T>
T value_or_throw(caf::expected<T> result, const char* what) {
  if (!result) {
    throw std::runtime_error(std::string(what) + ": " +
                             message_of(result.error()));
  }
  return std::move(*result);
}

} // namespace

gateway_harness& gateway_harness::instance() {
  // Built on the heap and deleted by an exit handler, so that the actors
  // stop before static destructors of CAF and Poco run.
  static gateway_harness* harness = [] {
    auto* created = new gateway_harness();
    std::atexit([] { delete &instance(); });
    return created;
  }();
  return *harness;
}

gateway_harness::gateway_harness() : dir_(make_scratch_dir()) {
  // Fuzz inputs make every handler log its rejection, so only errors are
  // kept: they mark an exception that reached a handler's final catch.
  Poco::Logger::setLevel("", Poco::Message::PRIO_ERROR);

  config::settings settings;
  settings.http_port = 0;
  settings.http_public_base_url = "https://gateway.fuzz.invalid";
  settings.storage_url = "sqlite:" + dir_ + "/gateway.db";
  settings.storage_pool_size = 2;
  settings.security_master_key_file = dir_ + "/master.key";
  settings.security_argon2_memory_kib = 64;
  settings.security_argon2_iterations = 1;
  settings.twilio_api_base_url =
      "http://127.0.0.1:" + std::to_string(closed_loopback_port());
  settings.twilio_max_retries = 0;
  settings.twilio_timeout = std::chrono::milliseconds(1000);
  settings.twilio_connect_timeout = std::chrono::milliseconds(200);
  settings.http_request_timeout = std::chrono::milliseconds(5000);
  settings.actors_io_workers = 2;

  storage::database_options options;
  options.url = settings.storage_url;
  options.pool_size = settings.storage_pool_size;
  auto database = value_or_throw(storage::database::open(options),
                                 "cannot open the fuzz database");
  auto key = value_or_throw(
      storage::master_key::load_or_create(settings.security_master_key_file),
      "cannot create the fuzz master key");

  system_ = std::make_unique<caf::actor_system>(caf_config_);
  node_ = std::make_unique<actors::node>(*system_, settings, database, key,
                                         actors::node_hooks{});
  app_ = std::make_shared<http::services>();
  app_->settings = settings;
  app_->users = std::make_shared<storage::user_store>(
      database, storage::argon2_params{64, 1, 1}, std::chrono::hours(24));
  app_->numbers = std::make_shared<storage::number_directory>(database);
  app_->database = database;
  app_->registry = node_->registry();
  app_->bridge = node_->requests();
  app_->stats = std::make_shared<http::metrics>();
  router_ = http::make_router(*app_);

  auto own = value_or_throw(
      app_->users->signup("fuzz-a@example.com", "fuzzing password"),
      "cannot sign up the fuzz account");
  auto other = value_or_throw(
      app_->users->signup("fuzz-b@example.com", "fuzzing password"),
      "cannot sign up the second fuzz account");
  user_id_ = own.account_id;
  token_ = own.token;
  other_user_id_ = other.account_id;
}

// Kept reachable from a global so that LeakSanitizer does not report it.
caf::actor_system* retired_system = nullptr;

gateway_harness::~gateway_harness() {
  app_.reset();
  node_->stop();
  system_->await_all_actors_done();
  node_.reset();
  // NOTE: ~actor_system crashes (SEGV in caf::ref_counted::deref) when it
  // runs from an exit handler, as it must here because libFuzzer ends the
  // process with exit(). With every actor done, the system is left to the
  // process exit instead.
  retired_system = system_.release();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

http::response gateway_harness::send(const std::string& method,
                                     const std::string& target,
                                     const std::string& body,
                                     const std::string& authorization) {
  http::request req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.request_id = "fuzz";
  req.peer = "127.0.0.1:1";
  if (!authorization.empty()) {
    req.headers["authorization"] = authorization;
  }
  if (!http::split_target(req.target, req.path, req.query)) {
    http::response rejected;
    rejected.status = 400;
    return rejected;
  }
  return http::dispatch(router_, *app_, req);
}

void require(bool condition, const char* what, const std::string& detail) {
  if (condition) {
    return;
  }
  std::fprintf(stderr, "fuzz property failed: %s\n%s\n", what, detail.c_str());
  std::abort();
}

std::string require_error_body(const http::response& result) {
  const auto detail =
      "status " + std::to_string(result.status) + " body " + result.body;
  const auto body = nlohmann::json::parse(result.body, nullptr, false);
  require(body.is_object(), "error body is a JSON object", detail);
  require(body.contains("error") && body["error"].is_object(),
          "error body has an \"error\" object", detail);
  const auto& error = body["error"];
  require(error.contains("code") && error["code"].is_string(),
          "error.code is a string", detail);
  require(error.contains("message") && error["message"].is_string(),
          "error.message is a string", detail);
  return error["code"].get<std::string>();
}

} // namespace skyiq::fuzzing

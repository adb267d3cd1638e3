// skyiq-gateway: the Sky IQ telephony gateway's executable.

#include "actors/cluster/links.hpp"
#include "actors/cluster/membership_keeper.hpp"
#include "actors/cluster/message_types.hpp"
#include "actors/cluster/node_agent.hpp"
#include "actors/node.hpp"
#include "config/settings.hpp"
#include "http/server.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/errors.hpp"
#include "storage/key_check.hpp"
#include "storage/leases.hpp"
#include "storage/number_directory.hpp"
#include "storage/user_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <map>

extern char** environ;

namespace {

using namespace skyiq;

struct arguments {
  std::optional<std::string> config_file;
  bool config_required = false;
  std::vector<std::string> overrides;
};

void print_usage() {
  std::cout << "usage: skyiq-gateway [--config FILE] [--set key=value]...\n"
               "Runs the Sky IQ telephony gateway. Settings come from\n"
               "config/gateway.ini (or FILE), SKYIQ_* environment variables\n"
               "and --set, later wins; README.md lists every key.\n";
}

std::optional<arguments> parse_arguments(int argc, char** argv) {
  arguments args;
  args.config_file = "config/gateway.ini";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_usage();
      std::exit(0);
    }
    if ((arg == "--config" || arg == "--set") && i + 1 < argc) {
      if (arg == "--config") {
        args.config_file = argv[++i];
        args.config_required = true;
      } else {
        args.overrides.push_back(argv[++i]);
      }
      continue;
    }
    std::cerr << "skyiq-gateway: invalid argument '" << arg
              << "': see skyiq-gateway --help\n";
    return std::nullopt;
  }
  return args;
}

std::map<std::string, std::string> read_environment() {
  std::map<std::string, std::string> result;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string text = *entry;
    const auto eq = text.find('=');
    if (eq != std::string::npos && text.rfind("SKYIQ_", 0) == 0) {
      result.emplace(text.substr(0, eq), text.substr(eq + 1));
    }
  }
  return result;
}

void setup_logging(const std::string& level) {
  Poco::AutoPtr<Poco::PatternFormatter> format(
      new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %s %t"));
  format->setProperty("times", "UTC");
  Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel);
  Poco::AutoPtr<Poco::FormattingChannel> channel(
      new Poco::FormattingChannel(format, console));
  Poco::Logger::root().setChannel(channel);
  Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

// Blocks the shutdown signals in every thread started from here on, so
// that only `wait_for_signal` receives them.
sigset_t block_signals() {
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int wait_for_signal(const sigset_t& set) {
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

int fail(Poco::Logger& log, const std::string& event, const caf::error& err) {
  log.critical(event + " message=\"" + message_of(err) + "\"");
  return 1;
}

// Sizes the store's own waits by storage.timeout. A lock wait and a pool
// wait get 2/5 of it each, so that a locked or exhausted store fails with
// its own error (logged, counted, sent as 503 `unavailable`). Account
// loads, profile updates and status callbacks give up after
// storage.timeout, so a write that got 503 there is not committed
// afterwards. Voice webhooks and call lists wait for the writer's or
// storage worker's own reply, up to http.request_timeout. A write queued
// behind slow batches in the group-commit writer can outlast that: its
// webhook gets 503 and the write may still commit, and Twilio's retry
// then finds the existing CallSid. A PostgreSQL statement without a
// reply for the whole storage.timeout (a hung server) has its connection
// shut down, so that requests served on HTTP threads, such as token
// checks and /readyz, fail too instead of waiting without end.
storage::database_options storage_options(
    const config::settings& settings,
    const std::shared_ptr<http::metrics>& stats) {
  storage::database_options options;
  options.url = settings.storage_url;
  options.pool_size = settings.storage_pool_size;
  options.busy_timeout = settings.storage_timeout * 2 / 5;
  options.acquire_timeout = settings.storage_timeout * 2 / 5;
  options.statement_timeout = settings.storage_timeout;
  options.on_failure = [stats] { stats->database_errors++; };
  return options;
}

/// The cluster actors of a node: the published agent and the keeper.
struct cluster_actors {
  caf::actor agent;
  caf::actor keeper;
};

// Publishes the node agent, registers the node and starts its keeper.
caf::expected<cluster_actors>
start_cluster(caf::actor_system& system, const config::settings& settings,
              actors::node& node, std::shared_ptr<storage::database> database,
              std::shared_ptr<const storage::master_key> key,
              std::shared_ptr<actors::cluster_view> view) {
  cluster_actors actors;
  actors.agent =
      cluster::spawn_node_agent(system, {node.registry(), view, key});
  auto port = cluster::publish_agent(system, actors.agent, settings);
  if (!port) {
    caf::anon_send_exit(actors.agent, caf::exit_reason::user_shutdown);
    return make_error(errc::unavailable,
                      "cannot accept node links on cluster.listen " +
                          settings.cluster_listen + ": " +
                          message_of(port.error()) +
                          "; choose a free host:port");
  }
  const auto host = cluster::split_address(settings.cluster_listen)->first;
  const auto address = host + ":" + std::to_string(*port);
  auto members = std::make_shared<storage::membership>(database);
  auto claimed = members->claim_name(settings.cluster_node_name, address,
                                     settings.cluster_lease_ttl);
  if (!claimed || !*claimed) {
    caf::anon_send_exit(actors.agent, caf::exit_reason::user_shutdown);
    if (!claimed) {
      return std::move(claimed.error());
    }
    return make_error(
        errc::unavailable,
        "cluster.node_name " + settings.cluster_node_name +
            " is in use by a live gateway node (its heartbeat is less than "
            "cluster.lease_ttl old): give every node its own name, or wait "
            "for a node that just stopped to expire");
  }
  Poco::Logger::get("gateway.cluster")
      .information("cluster-listening message=\"accepting node links\" "
                   "node=" +
                   settings.cluster_node_name + " host=" + host +
                   " port=" + std::to_string(*port) +
                   " tls=" + (settings.cluster_tls ? "true" : "false"));
  cluster::keeper_environment env;
  env.node = settings.cluster_node_name;
  env.address = address;
  env.peers = settings.cluster_peers;
  env.members = members;
  env.leases = std::make_shared<storage::lease_table>(database);
  env.view = std::move(view);
  env.registry = node.registry();
  env.opener = cluster::link_opener(system, settings);
  env.agent = actors.agent;
  env.interval = settings.cluster_heartbeat_interval;
  env.ttl = settings.cluster_lease_ttl;
  actors.keeper = cluster::spawn_membership_keeper(system, std::move(env));
  caf::anon_send(actors.agent, actors::join_atom_v, actors.keeper);
  return actors;
}

// Hands this node's accounts over at once instead of after their leases
// expire, then stops the cluster actors.
void leave_cluster(caf::actor_system& system, const cluster_actors& actors) {
  caf::scoped_actor self{system};
  self->request(actors.keeper, std::chrono::seconds(10), actors::stop_atom_v)
      .receive([](bool) {},
               [](caf::error& err) {
                 Poco::Logger::get("gateway.cluster")
                     .warning("cluster-leave-failed message=\"leases "
                              "expire on their own\" error=\"" +
                              message_of(err) + "\"");
               });
  caf::anon_send_exit(actors.keeper, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(actors.agent, caf::exit_reason::user_shutdown);
}

int run(const config::settings& settings, const sigset_t& signals) {
  auto& log = Poco::Logger::get("gateway.main");
  auto key =
      storage::master_key::load_or_create(settings.security_master_key_file);
  if (!key) {
    return fail(log, "master-key-failed", key.error());
  }
  auto stats = std::make_shared<http::metrics>();
  if (!storage::use_multithreaded_sqlite()) {
    log.warning("sqlite-thread-mode-unchanged message=\"SQLite stays in "
                "serialized mode\"");
  }
  auto database = storage::database::open(storage_options(settings, stats));
  if (!database) {
    return fail(log, "storage-open-failed", database.error());
  }
  if (auto err = storage::check_master_key(
        **database, **key, settings.security_master_key_file)) {
    return fail(log, "master-key-mismatch", err);
  }

  caf::actor_system_config caf_config;
  caf_config.set("scheduler.policy", settings.actors_scheduler == "stealing"
                                        ? caf::atom("stealing")
                                        : caf::atom("sharing"));
  const bool clustered = !settings.cluster_node_name.empty();
  if (clustered) {
    cluster::configure_links(caf_config, settings);
  }
  caf::actor_system system(cluster::add_message_types(caf_config));
  actors::node_hooks hooks;
  if (clustered) {
    hooks.cluster = std::make_shared<actors::cluster_view>(
        settings.cluster_node_name, stats->linked_peers);
    hooks.forwarded_requests = stats->forwarded_requests;
  }
  hooks.on_batch = [stats](std::size_t n) { stats->observe_batch_size(n); };
  hooks.on_twilio_error = [stats](int status, int code) {
    stats->count_twilio_error(status, code);
  };
  hooks.active_accounts = stats->active_accounts;
  actors::node node(system, settings, *database, *key, hooks);
  std::optional<cluster_actors> cluster_part;
  if (clustered) {
    auto started = start_cluster(system, settings, node, *database, *key,
                                 hooks.cluster);
    if (!started) {
      node.stop();
      return fail(log, "cluster-start-failed", started.error());
    }
    cluster_part = std::move(*started);
  }

  storage::argon2_params argon2{settings.security_argon2_memory_kib,
                                settings.security_argon2_iterations,
                                settings.security_argon2_parallelism};
  auto app = std::make_shared<http::services>();
  app->settings = settings;
  app->users = std::make_shared<storage::user_store>(
      *database, argon2, settings.security_session_ttl);
  app->numbers = std::make_shared<storage::number_directory>(*database);
  app->database = *database;
  app->registry = node.registry();
  app->bridge = node.requests();
  app->stats = stats;
  app->limits = http::make_limits(settings);

  std::unique_ptr<http::server> server;
  try {
    server = std::make_unique<http::server>(app);
  } catch (const std::exception& e) {
    log.critical("http-bind-failed message=\"cannot listen on " +
                 settings.http_host + ":" + std::to_string(settings.http_port) +
                 ": " + e.what() + "\"");
    if (cluster_part) {
      leave_cluster(system, *cluster_part);
    }
    node.stop();
    return 1;
  }
  server->start();
  log.information(
      "http-listening message=\"gateway ready\" host=" + settings.http_host +
      " port=" + std::to_string(server->port()) +
      " storage=" + (*database)->backend() +
      " public_base_url=" + settings.http_public_base_url);

  const int signal = wait_for_signal(signals);
  log.information("shutdown-started message=\"stopping\" signal=" +
                  std::string(strsignal(signal)));
  server->stop();
  server.reset();
  app.reset();
  if (cluster_part) {
    leave_cluster(system, *cluster_part);
  }
  node.stop();
  system.await_all_actors_done();
  log.information("shutdown-finished message=\"stopped cleanly\"");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  const auto signals = block_signals();
  const auto args = parse_arguments(argc, argv);
  if (!args) {
    return 2;
  }
  config::settings settings;
  try {
    settings = config::load_settings(args->config_file, args->config_required,
                                     read_environment(), args->overrides);
  } catch (const config::config_error& e) {
    std::cerr << "skyiq-gateway: " << e.what() << "\n";
    return 2;
  }
  setup_logging(settings.log_level);
  return run(settings, signals);
}

#include "actors/cluster/links.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

namespace skyiq::cluster {

void configure_links(caf::actor_system_config& config,
                     const config::settings& s) {
  config.load<caf::io::middleman>();
  // Five link heartbeats per membership heartbeat. A peer that sends
  // nothing for one membership heartbeat counts as gone. With the default
  // of 1 s these are 200 ms and 1 s, which notice a stopped process in
  // about a second.
  config.set("middleman.heartbeat-interval",
             caf::timespan{s.cluster_heartbeat_interval / 5});
  config.set("middleman.connection-timeout",
             caf::timespan{s.cluster_heartbeat_interval});
  if (s.cluster_tls) {
    config.load<caf::openssl::manager>();
    config.openssl_certificate = s.cluster_tls_cert_file;
    config.openssl_key = s.cluster_tls_key_file;
    config.openssl_cafile = s.cluster_tls_ca_file;
  }
}

std::optional<std::pair<std::string, std::uint16_t>>
split_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return std::nullopt;
  }
  const auto digits = address.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const auto port = std::stoul(digits);
  if (port > 65535) {
    return std::nullopt;
  }
  return std::make_pair(address.substr(0, colon),
                        static_cast<std::uint16_t>(port));
}

caf::expected<std::uint16_t> publish_agent(caf::actor_system& system,
                                           const caf::actor& agent,
                                           const config::settings& s) {
  auto address = split_address(s.cluster_listen);
  if (!address) {
    return caf::make_error(caf::sec::invalid_argument,
                           "cluster.listen is not host:port");
  }
  const char* host = address->first.c_str();
  if (s.cluster_tls) {
    return caf::openssl::publish(agent, address->second, host, true);
  }
  return system.middleman().publish(agent, address->second, host, true);
}

caf::io::middleman_actor link_opener(caf::actor_system& system,
                                     const config::settings& s) {
  if (s.cluster_tls) {
    return system.openssl_manager().actor_handle();
  }
  return system.middleman().actor_handle();
}

} // namespace skyiq::cluster

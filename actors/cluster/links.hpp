#pragma once

// The node links of a clustered gateway, over CAF 0.17's middleman: one
// published node agent per node, and connections to the peers' agents.
// With cluster.tls the links go through CAF's OpenSSL module with mutual
// certificate checks against cluster.tls_ca_file. Without certificates
// that module falls back to anonymous key exchange, which is why the
// settings refuse cluster.tls without all three files.
//
// NOTE: CAF 0.17.6's OpenSSL module speaks TLS 1.2 only, checks the peer's
// certificate chain but no host name, and leaves OpenSSL's per-thread
// error queue filled after a failed handshake. The next read on any other
// link of the node then fails, so one peer with a bad certificate breaks
// the node's good links until they are opened again at the next
// heartbeat. Keep cluster.listen on a network that only the nodes reach.
// A CAF release that clears the queue (ERR_clear_error) retires this.

#include "config/settings.hpp"

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace skyiq::cluster {

/// Loads the middleman (and the OpenSSL manager with cluster.tls) into
/// `config` and turns on link heartbeats and the connection timeout, which
/// CAF 0.17 leaves off, so that a hung peer is noticed. Call it before the
/// actor system is constructed from `config`.
void configure_links(caf::actor_system_config& config,
                     const config::settings& s);

/// Publishes `agent` at cluster.listen and returns the bound port, which
/// differs from the configured one when that is 0.
caf::expected<std::uint16_t> publish_agent(caf::actor_system& system,
                                           const caf::actor& agent,
                                           const config::settings& s);

/// Returns the actor that opens links to peers: the middleman's own, or
/// the OpenSSL manager's with cluster.tls.
caf::io::middleman_actor link_opener(caf::actor_system& system,
                                     const config::settings& s);

/// Splits "host:port"; nullopt when the port is missing or invalid.
std::optional<std::pair<std::string, std::uint16_t>>
split_address(const std::string& address);

} // namespace skyiq::cluster

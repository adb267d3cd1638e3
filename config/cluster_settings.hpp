#pragma once

// Setters and checks of the `cluster.*` keys, used by settings.cpp. Each
// setter throws config_error naming the key, the value and what is
// accepted.

#include "config/settings.hpp"

#include <string>

namespace skyiq::config::cluster_keys {

void set_node_name(settings& s, const std::string& key,
                   const std::string& value);
void set_listen(settings& s, const std::string& key,
                const std::string& value);
void set_peers(settings& s, const std::string& key,
               const std::string& value);
void set_lease_ttl(settings& s, const std::string& key,
                   const std::string& value);
void set_heartbeat_interval(settings& s, const std::string& key,
                            const std::string& value);
void set_tls(settings& s, const std::string& key, const std::string& value);
void set_tls_cert_file(settings& s, const std::string& key,
                       const std::string& value);
void set_tls_key_file(settings& s, const std::string& key,
                      const std::string& value);
void set_tls_ca_file(settings& s, const std::string& key,
                     const std::string& value);

/// Checks the rules that join several `cluster.*` keys, once every source
/// is applied. Throws config_error.
void check(const settings& s);

} // namespace skyiq::config::cluster_keys

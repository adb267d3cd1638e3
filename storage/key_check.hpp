#pragma once

// Binds a database to the master key that seals its Twilio auth tokens, so
// that a gateway started with another key file stops at start-up instead
// of failing every request of the accounts it loads. On a cluster this is
// what keeps a node with a stray key file out.

#include "storage/database.hpp"

#include <caf/error.hpp>

#include <string>

namespace skyiq::storage {

class master_key;

/// Returns a fingerprint of `key`: the hex HMAC-SHA256 of a fixed label
/// under the key. It shows whether two keys are equal and does not reveal
/// the key.
std::string key_fingerprint(const master_key& key);

/// Checks `key` against the fingerprint stored in `db`. The first gateway
/// to start on a database stores its key's fingerprint. If Twilio tokens
/// were sealed before any fingerprint was stored, one of them must open
/// with `key` first. Errors: errc::invalid_request naming `key_file` when
/// the key differs, errc::unavailable when the database cannot be read.
caf::error check_master_key(database& db, const master_key& key,
                            const std::string& key_file);

} // namespace skyiq::storage

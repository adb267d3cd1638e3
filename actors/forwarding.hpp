#pragma once

// How a request for an account owned by another gateway node crosses the
// node link. Arguments go unchanged, except the two requests that carry a
// Twilio auth token: the token is sealed under the master key that every
// node shares, with the account id as associated data, and opened again
// on the owning node.

#include "actors/cluster_view.hpp"
#include "actors/messages.hpp"

#include <caf/expected.hpp>

#include <atomic>
#include <cstdint>

#include <memory>
#include <string>

namespace skyiq::storage {
class master_key;
} // namespace skyiq::storage

namespace skyiq::actors {

/// Dependencies of a bridge that forwards requests to other nodes.
struct forwarding {
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<const storage::master_key> key;
  /// Counts the requests sent to another node; may be null.
  std::shared_ptr<std::atomic<std::uint64_t>> forwarded;
};

template <class T>
const T& to_wire(const T& x, const std::string&, const forwarding&) {
  return x;
}

forwarded_setup to_wire(const setup_request& x, const std::string& account_id,
                        const forwarding& link);

forwarded_numbers to_wire(const numbers_request& x,
                          const std::string& account_id,
                          const forwarding& link);

/// Opens a forwarded setup on the owning node. Errors: errc::internal when
/// the token does not open, as when the nodes' master keys differ.
caf::expected<setup_request> from_wire(const forwarded_setup& x,
                                       const std::string& account_id,
                                       const storage::master_key& key);

caf::expected<numbers_request> from_wire(const forwarded_numbers& x,
                                         const std::string& account_id,
                                         const storage::master_key& key);

} // namespace skyiq::actors

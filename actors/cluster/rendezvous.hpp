#pragma once

// Rendezvous (highest-random-weight) hashing of account ids over the live
// gateway nodes. Every node computes the same owner from the same list of
// node names, so no coordination is needed to agree on it, and when a node
// leaves only the accounts it owned move.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace skyiq::cluster {

/// Returns the 64-bit FNV-1a hash of `bytes`. The function is fixed by its
/// definition (offset basis 0xcbf29ce484222325, prime 0x100000001b3), so it
/// gives the same value in every build, unlike `std::hash`.
std::uint64_t fnv1a_64(std::string_view bytes);

/// Returns the weight of `node` for `account_id`: FNV-1a 64 over the node
/// name, one zero byte and the account id, followed by MurmurHash3's
/// 64-bit finalizer so that every input bit affects the high bits that
/// decide the comparison.
std::uint64_t rendezvous_weight(std::string_view node,
                                std::string_view account_id);

/// Returns the owner of `account_id` among `live_nodes`: the node with the
/// highest weight, the smaller name on a tie. Duplicate names count once
/// and the order of the list does not matter. Returns nullopt when the
/// list is empty.
std::optional<std::string>
choose_owner(std::string_view account_id,
             const std::vector<std::string>& live_nodes);

} // namespace skyiq::cluster

#include "actors/cluster/rendezvous.hpp"

namespace skyiq::cluster {

namespace {

constexpr std::uint64_t fnv_offset_basis = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

std::uint64_t fnv1a_step(std::uint64_t hash, std::string_view bytes) {
  for (unsigned char byte : bytes) {
    hash ^= byte;
    hash *= fnv_prime;
  }
  return hash;
}

// MurmurHash3's fmix64. FNV-1a alone avalanches poorly, so ids that
// differ only in their last characters would get correlated weights.
std::uint64_t finalize(std::uint64_t hash) {
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdULL;
  hash ^= hash >> 33;
  hash *= 0xc4ceb9fe1a85ec53ULL;
  hash ^= hash >> 33;
  return hash;
}

} // namespace

std::uint64_t fnv1a_64(std::string_view bytes) {
  return fnv1a_step(fnv_offset_basis, bytes);
}

std::uint64_t rendezvous_weight(std::string_view node,
                                std::string_view account_id) {
  auto hash = fnv1a_step(fnv_offset_basis, node);
  hash = fnv1a_step(hash, std::string_view("\0", 1));
  hash = fnv1a_step(hash, account_id);
  return finalize(hash);
}

std::optional<std::string>
choose_owner(std::string_view account_id,
             const std::vector<std::string>& live_nodes) {
  const std::string* best = nullptr;
  std::uint64_t best_weight = 0;
  for (const auto& node : live_nodes) {
    const auto weight = rendezvous_weight(node, account_id);
    const bool higher = best == nullptr || weight > best_weight;
    const bool tie_won = best != nullptr && weight == best_weight &&
                         node < *best;
    if (higher || tie_won) {
      best = &node;
      best_weight = weight;
    }
  }
  if (best == nullptr) {
    return std::nullopt;
  }
  return *best;
}

} // namespace skyiq::cluster

#include "actors/cluster_view.hpp"

#include "actors/cluster/rendezvous.hpp"

namespace skyiq::actors {

cluster_view::cluster_view(
    std::string self, std::shared_ptr<std::atomic<std::size_t>> linked_peers)
    : self_(std::move(self)), linked_peers_(std::move(linked_peers)) {
  eligible_.push_back(self_);
}

void cluster_view::set_members(std::set<std::string> names) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (names == members_) {
    return;
  }
  members_ = std::move(names);
  rebuild_locked();
}

void cluster_view::add_peer(peer_ptr peer) {
  std::lock_guard<std::mutex> guard(mutex_);
  auto& slot = peers_[peer->name];
  if (slot && slot != peer) {
    slot->down = true;
  }
  slot = std::move(peer);
  rebuild_locked();
}

void cluster_view::drop_peer(const peer_ptr& peer) {
  peer->down = true;
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = peers_.find(peer->name);
  if (it != peers_.end() && it->second == peer) {
    peers_.erase(it);
    rebuild_locked();
  }
}

peer_ptr cluster_view::peer(const std::string& name) const {
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = peers_.find(name);
  return it == peers_.end() ? nullptr : it->second;
}

std::vector<std::string> cluster_view::peer_names() const {
  std::lock_guard<std::mutex> guard(mutex_);
  std::vector<std::string> names;
  for (const auto& entry : peers_) {
    names.push_back(entry.first);
  }
  return names;
}

std::string cluster_view::owner_of(const std::string& account_id) const {
  std::lock_guard<std::mutex> guard(mutex_);
  // eligible_ always contains at least this node.
  return *cluster::choose_owner(account_id, eligible_);
}

void cluster_view::rebuild_locked() {
  if (linked_peers_) {
    linked_peers_->store(peers_.size());
  }
  std::vector<std::string> eligible{self_};
  for (const auto& name : members_) {
    if (name != self_ && peers_.count(name) > 0) {
      eligible.push_back(name);
    }
  }
  if (eligible != eligible_) {
    eligible_ = std::move(eligible);
    ++generation_;
  }
}

} // namespace skyiq::actors

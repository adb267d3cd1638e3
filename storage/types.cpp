#include "storage/types.hpp"

#include <array>
#include <chrono>

namespace skyiq::storage {

namespace {

constexpr std::array<const char*, 5> final_statuses{
  "completed", "busy", "failed", "no-answer", "canceled"};

constexpr std::array<const char*, 3> live_statuses{"queued", "ringing",
                                                   "in-progress"};

template <std::size_t N>
bool contains(const std::array<const char*, N>& names,
              const std::string& status) {
  for (const char* name : names) {
    if (status == name) {
      return true;
    }
  }
  return false;
}

} // namespace

bool is_final_status(const std::string& status) {
  return contains(final_statuses, status);
}

bool is_call_status(const std::string& status) {
  return is_final_status(status) || contains(live_statuses, status);
}

timestamp_ms now_ms() {
  using namespace std::chrono;
  auto since_epoch = system_clock::now().time_since_epoch();
  return duration_cast<milliseconds>(since_epoch).count();
}

} // namespace skyiq::storage

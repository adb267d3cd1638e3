#include "http/router.hpp"

#include <algorithm>

namespace skyiq::http {

namespace {

bool match_segments(const std::vector<std::string>& pattern,
                    const std::vector<std::string>& path,
                    std::map<std::string, std::string>& params) {
  if (pattern.size() != path.size()) {
    return false;
  }
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const auto& want = pattern[i];
    if (!want.empty() && want[0] == ':') {
      if (path[i].empty()) {
        return false;
      }
      found[want.substr(1)] = path[i];
    } else if (want != path[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

} // namespace

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  std::size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) {
      end = path.size();
    }
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

void router::add(route r) {
  patterns_.push_back(split_path(r.pattern));
  routes_.push_back(std::move(r));
}

route_match router::match(const std::string& method,
                          const std::string& path) const {
  route_match result;
  const auto segments = split_path(path);
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& r = routes_[i];
    std::map<std::string, std::string> params;
    if (!match_segments(patterns_[i], segments, params)) {
      continue;
    }
    if (r.method == method) {
      result.found = &r;
      result.params = std::move(params);
      result.method_mismatch = false;
      return result;
    }
    result.method_mismatch = true;
    if (std::find(result.allowed.begin(), result.allowed.end(), r.method) ==
        result.allowed.end()) {
      result.allowed.push_back(r.method);
    }
  }
  return result;
}

} // namespace skyiq::http

#include "http/exchange.hpp"

#include <cctype>

namespace skyiq::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  const char lower =
      static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower >= 'a' && lower <= 'f') {
    return lower - 'a' + 10;
  }
  return -1;
}

} // namespace

std::string request::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

bool percent_decode(const std::string& text, bool plus_is_space,
                    std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return false;
      }
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) {
        return false;
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool split_target(const std::string& target, std::string& path,
                  std::map<std::string, std::string>& query) {
  if (target.empty() || target[0] != '/') {
    return false;
  }
  const auto question = target.find('?');
  path = target.substr(0, question);
  query.clear();
  if (question == std::string::npos) {
    return true;
  }
  const auto text = target.substr(question + 1);
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('&', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    const auto item = text.substr(start, end - start);
    if (!item.empty()) {
      const auto eq = item.find('=');
      std::string name;
      std::string value;
      if (!percent_decode(item.substr(0, eq), true, name)) {
        return false;
      }
      if (eq != std::string::npos &&
          !percent_decode(item.substr(eq + 1), true, value)) {
        return false;
      }
      query.emplace(name, value);
    }
    start = end + 1;
  }
  return true;
}

} // namespace skyiq::http

#include "storage/storage_url.hpp"

#include "storage/errors.hpp"

#include <cctype>
#include <optional>
#include <utility>

namespace skyiq::storage {

namespace {

using keyword_list = std::vector<std::pair<std::string, std::string>>;

constexpr const char* default_connect_timeout = "5";

caf::error url_error(const std::string& problem) {
  return make_error(errc::invalid_request, "invalid storage.url: " + problem);
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

int hex_value(char c) {
  if (std::isdigit(static_cast<unsigned char>(c))) {
    return c - '0';
  }
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::optional<std::string> percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return std::nullopt;
    }
    int high = hex_value(text[i + 1]);
    int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

const std::string* find_keyword(const keyword_list& list,
                                const std::string& key) {
  const std::string* found = nullptr;
  for (const auto& [name, value] : list) {
    if (name == key) {
      found = &value;
    }
  }
  return found;
}

// Renders one value for libpq, escaping quote and backslash; Poco 1.11
// splits the whole string at spaces, so whitespace cannot be passed.
caf::expected<std::string> render_value(const std::string& key,
                                        const std::string& value) {
  if (value.empty()) {
    return std::string("''");
  }
  std::string out;
  for (char c : value) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      return url_error("the value of " + key
                       + " contains whitespace, which Poco 1.11's "
                         "PostgreSQL connector cannot pass on; for a "
                         "password, use a passfile instead");
    }
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string display_of(const keyword_list& list) {
  auto get = [&](const char* key) {
    auto value = find_keyword(list, key);
    return value ? *value : std::string();
  };
  std::string out = "postgresql://";
  if (!get("user").empty()) {
    out += get("user") + "@";
  }
  out += get("host").empty() ? std::string("(default host)") : get("host");
  if (!get("port").empty()) {
    out += ":" + get("port");
  }
  return out + "/" + get("dbname");
}

caf::expected<storage_target> postgres_target(keyword_list list,
                                              std::vector<std::string> raw,
                                              const std::string& url) {
  if (!find_keyword(list, "connect_timeout")) {
    list.emplace_back("connect_timeout", default_connect_timeout);
  }
  storage_target target;
  target.backend = backend_kind::postgresql;
  for (const auto& [key, value] : list) {
    auto rendered = render_value(key, value);
    if (!rendered) {
      return rendered.error();
    }
    if (!target.connection_string.empty()) {
      target.connection_string += ' ';
    }
    target.connection_string += key + "=" + *rendered;
    if (key == "password" && !value.empty()) {
      target.secrets.push_back(value);
      target.secrets.push_back(*rendered);
    }
  }
  for (auto& text : raw) {
    if (!text.empty()) {
      target.secrets.push_back(std::move(text));
    }
  }
  target.connection_texts = {target.connection_string, url};
  target.display = display_of(list);
  return target;
}

caf::error split_host_port(const std::string& hostport, keyword_list& list) {
  std::string host = hostport;
  std::string port;
  if (starts_with(hostport, "[")) {
    auto close = hostport.find(']');
    if (close == std::string::npos) {
      return url_error("unterminated [ in the host");
    }
    host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') {
        return url_error("unexpected text after ]");
      }
      port = hostport.substr(close + 2);
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.find(',') != std::string::npos) {
    return url_error("several hosts are not supported");
  }
  auto decoded = percent_decode(host);
  if (!decoded) {
    return url_error("bad percent-encoding in the host");
  }
  if (!decoded->empty()) {
    list.emplace_back("host", *decoded);
  }
  if (!port.empty()) {
    list.emplace_back("port", port);
  }
  return caf::none;
}

caf::error add_user_info(const std::string& info, keyword_list& list,
                         std::vector<std::string>& raw) {
  auto colon = info.find(':');
  auto user = percent_decode(info.substr(0, colon));
  if (!user) {
    return url_error("bad percent-encoding in the user name");
  }
  if (!user->empty()) {
    list.emplace_back("user", *user);
  }
  if (colon == std::string::npos) {
    return caf::none;
  }
  auto password = percent_decode(info.substr(colon + 1));
  if (!password) {
    return url_error("bad percent-encoding in the password");
  }
  raw.push_back(info.substr(colon + 1));
  list.emplace_back("password", *password);
  return caf::none;
}

caf::error add_query(const std::string& query, keyword_list& list,
                     std::vector<std::string>& raw) {
  std::size_t start = 0;
  while (start < query.size()) {
    auto end = query.find('&', start);
    auto item = query.substr(start, end == std::string::npos
                                      ? std::string::npos
                                      : end - start);
    start = end == std::string::npos ? query.size() : end + 1;
    auto eq = item.find('=');
    auto key = percent_decode(item.substr(0, eq));
    auto value = percent_decode(eq == std::string::npos ? ""
                                                        : item.substr(eq + 1));
    if (!key || !value || key->empty()) {
      return url_error("malformed query parameter");
    }
    if (*key == "password") {
      raw.push_back(item.substr(eq + 1));
    }
    list.emplace_back(*key, *value);
  }
  return caf::none;
}

caf::expected<storage_target> parse_postgres_uri(const std::string& url,
                                                 std::size_t scheme_size) {
  auto rest = url.substr(scheme_size);
  auto query_pos = rest.find('?');
  auto query = query_pos == std::string::npos ? ""
                                              : rest.substr(query_pos + 1);
  rest = rest.substr(0, query_pos);
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  auto path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  keyword_list list;
  std::vector<std::string> raw;
  auto at = authority.rfind('@');
  if (at != std::string::npos) {
    if (auto err = add_user_info(authority.substr(0, at), list, raw)) {
      return err;
    }
  }
  auto hostport = at == std::string::npos ? authority
                                          : authority.substr(at + 1);
  if (auto err = split_host_port(hostport, list)) {
    return err;
  }
  auto dbname = percent_decode(path);
  if (!dbname) {
    return url_error("bad percent-encoding in the database name");
  }
  if (!dbname->empty()) {
    list.emplace_back("dbname", *dbname);
  }
  if (auto err = add_query(query, list, raw)) {
    return err;
  }
  return postgres_target(std::move(list), std::move(raw), url);
}

std::size_t skip_spaces(const std::string& text, std::size_t pos) {
  while (pos < text.size()
         && std::isspace(static_cast<unsigned char>(text[pos]))) {
    ++pos;
  }
  return pos;
}

// Reads one value in libpq's syntax: single-quoted or up to the next
// whitespace, with backslash escaping the next character in both forms.
caf::expected<std::string> read_value(const std::string& text,
                                      std::size_t& pos) {
  bool quoted = pos < text.size() && text[pos] == '\'';
  pos += quoted ? 1 : 0;
  std::string value;
  while (pos < text.size()) {
    char c = text[pos];
    if (quoted ? c == '\'' : std::isspace(static_cast<unsigned char>(c))) {
      break;
    }
    if (c == '\\' && pos + 1 < text.size()) {
      c = text[++pos];
    }
    value += c;
    ++pos;
  }
  if (quoted) {
    if (pos >= text.size()) {
      return url_error("unterminated quoted value");
    }
    ++pos;
  }
  return value;
}

caf::expected<storage_target> parse_key_value(const std::string& text) {
  keyword_list list;
  auto pos = skip_spaces(text, 0);
  while (pos < text.size()) {
    auto eq = text.find('=', pos);
    if (eq == std::string::npos) {
      return url_error("expected key=value pairs");
    }
    auto key = text.substr(pos, eq - pos);
    while (!key.empty()
           && std::isspace(static_cast<unsigned char>(key.back()))) {
      key.pop_back();
    }
    pos = skip_spaces(text, eq + 1);
    auto value = read_value(text, pos);
    if (!value) {
      return value.error();
    }
    if (key.empty()) {
      return url_error("a key=value pair has no key");
    }
    list.emplace_back(key, *value);
    pos = skip_spaces(text, pos);
  }
  return postgres_target(std::move(list), {}, text);
}

} // namespace

caf::expected<storage_target> parse_storage_url(const std::string& url) {
  if (starts_with(url, "sqlite:")) {
    auto path = url.substr(7);
    if (starts_with(path, "//")) {
      path = path.substr(2);
    }
    if (path.empty() || path == ":memory:") {
      return url_error("sqlite: needs a file path, as in "
                       "sqlite:var/gateway.db");
    }
    storage_target target;
    target.sqlite_path = path;
    target.display = "sqlite:" + path;
    return target;
  }
  if (starts_with(url, "postgresql://")) {
    return parse_postgres_uri(url, 13);
  }
  if (starts_with(url, "postgres://")) {
    return parse_postgres_uri(url, 11);
  }
  if (url.find('=') != std::string::npos) {
    return parse_key_value(url);
  }
  return url_error("expected sqlite:PATH, postgresql://... or a libpq "
                   "key=value string");
}

namespace {

void replace_all(std::string& text, const std::string& from,
                 const std::string& to) {
  if (from.empty()) {
    return;
  }
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

} // namespace

std::string scrub(std::string text, const storage_target& target) {
  for (const auto& connection_text : target.connection_texts) {
    replace_all(text, connection_text, target.display);
  }
  for (const auto& secret : target.secrets) {
    replace_all(text, secret, "***");
  }
  return text;
}

} // namespace skyiq::storage

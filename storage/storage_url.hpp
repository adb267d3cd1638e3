#pragma once

// Parsing of `storage.url` into what the connection pool needs.

#include "storage/dialect.hpp"

#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace skyiq::storage {

/// A parsed `storage.url`.
struct storage_target {
  backend_kind backend = backend_kind::sqlite;
  /// File of the SQLite database.
  std::string sqlite_path;
  /// libpq key=value string in the form Poco 1.11 passes on unchanged.
  std::string connection_string;
  /// The URL without its password, for logs and error messages.
  std::string display;
  /// The connection string and the original URL; `scrub` replaces them
  /// with `display` wherever they appear in a message.
  std::vector<std::string> connection_texts;
  /// The password in every form it appeared in; `scrub` replaces them
  /// with `***`.
  std::vector<std::string> secrets;
};

/// Parses `sqlite:PATH`, `postgresql://user:pass@host:port/db?key=value`
/// (also `postgres://`, with percent-decoding) or a libpq key=value string.
/// A connect_timeout of 5 seconds is added unless one is given. Errors
/// (errc::invalid_request): an unknown form, bad percent-encoding, or a
/// PostgreSQL value containing whitespace, which Poco 1.11's connector
/// cannot pass on because it splits the string at every space.
caf::expected<storage_target> parse_storage_url(const std::string& url);

/// Returns `text` without the connection texts and secrets of `target`.
std::string scrub(std::string text, const storage_target& target);

} // namespace skyiq::storage

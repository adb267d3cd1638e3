#pragma once

#include "http/exchange.hpp"
#include "storage/errors.hpp"

#include <caf/error.hpp>

namespace skyiq::http {

/// The one mapping from project error codes to HTTP status codes.
int status_of(errc code);

/// Builds `{"error": {"code": ..., "message": ...}}` with its status.
response error_response(errc code, const std::string& message);

/// Builds the error response of an error that travelled through actors.
/// Errors from CAF itself (a timeout, an actor that went away) become 503
/// `unavailable`, so that Twilio falls back and clients retry. The
/// responses of `unavailable` and `internal` carry a fixed message, since
/// their own may name the database or another gateway node.
response error_response(const caf::error& err);

} // namespace skyiq::http

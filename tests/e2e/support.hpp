#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace skyiq::testing {

/// A scratch directory under /tmp, removed with its contents on
/// destruction.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

/// The real `skyiq-gateway` binary, started with `--set` overrides and its
/// log in a file. The constructor waits for the `http-listening` line and
/// reads the bound port from it.
class gateway_process {
public:
  gateway_process(const std::string& log_file,
                  const std::vector<std::string>& overrides);
  ~gateway_process();

  gateway_process(const gateway_process&) = delete;
  gateway_process& operator=(const gateway_process&) = delete;

  std::uint16_t port() const {
    return port_;
  }
  pid_t pid() const {
    return pid_;
  }

  /// Sends SIGKILL and reaps the process.
  void kill_hard();

  /// Sends SIGTERM and returns the exit status, or -1 after `limit`.
  int terminate(std::chrono::milliseconds limit = std::chrono::seconds(20));

  /// The whole log written so far.
  std::string log() const;

private:
  std::string log_file_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

/// Runs the binary to completion and returns its exit status; its stderr
/// goes to `log_file`.
int run_gateway_to_exit(const std::string& log_file,
                        const std::vector<std::string>& args,
                        std::chrono::milliseconds limit);

struct http_reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  std::string header(const std::string& name) const;
};

/// A small HTTP/1.1 client for 127.0.0.1.
class http_client {
public:
  /// `timeout` bounds the connect and each send and receive of a request.
  explicit http_client(std::uint16_t port,
                       std::chrono::seconds timeout = std::chrono::seconds(30));

  http_reply send(const std::string& method, const std::string& target,
                  const std::string& body = "",
                  const std::vector<std::pair<std::string, std::string>>&
                    headers = {},
                  const std::string& content_type = "application/json");

  http_reply get(const std::string& target, const std::string& token = "");
  http_reply post_json(const std::string& target, const std::string& body,
                       const std::string& token = "");
  http_reply del(const std::string& target, const std::string& token = "");

  /// Sends raw bytes on a new connection and returns what came back until
  /// the server closed it or `limit` passed.
  std::string send_raw(const std::string& bytes,
                       std::chrono::milliseconds limit =
                         std::chrono::seconds(5));

private:
  std::uint16_t port_;
  std::chrono::seconds timeout_;
};

/// Params of a voice webhook as Twilio sends them, in Twilio's order.
std::vector<std::pair<std::string, std::string>>
voice_params(const std::string& account_sid, const std::string& call_sid,
             const std::string& from, const std::string& to,
             const std::string& direction = "inbound");

/// Params of a status callback.
std::vector<std::pair<std::string, std::string>>
status_params(const std::string& account_sid, const std::string& call_sid,
              const std::string& from, const std::string& to,
              const std::string& status, std::optional<int> sequence,
              std::optional<int> duration);

/// Signs `params` for `url` with `auth_token` and posts them form-encoded.
http_reply post_signed(http_client& client, const std::string& target,
                       const std::string& public_base_url,
                       const std::string& auth_token,
                       const std::vector<std::pair<std::string, std::string>>&
                         params);

/// A random CallSid ("CA" and 32 hex digits).
std::string random_call_sid();

} // namespace skyiq::testing

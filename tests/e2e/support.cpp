#include "tests/e2e/support.hpp"

#include "actors/twilio/signature.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#ifndef SKYIQ_GATEWAY_BINARY
#error "SKYIQ_GATEWAY_BINARY must name the gateway executable"
#endif

namespace skyiq::testing {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

pid_t spawn(const std::string& log_file, const std::vector<std::string>& args) {
  std::vector<std::string> argv_storage{SKYIQ_GATEWAY_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    const int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

std::vector<std::string> with_set(const std::vector<std::string>& overrides) {
  std::vector<std::string> args;
  for (const auto& item : overrides) {
    args.push_back("--set");
    args.push_back(item);
  }
  return args;
}

// Waits for the child to exit; returns its exit status, 128+signal, or -1.
int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
      }
      return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

} // namespace

temp_dir::temp_dir() {
  char pattern[] = "/tmp/skyiq-test.XXXXXX";
  if (!mkdtemp(pattern)) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

gateway_process::gateway_process(const std::string& log_file,
                                 const std::vector<std::string>& overrides)
  : log_file_(log_file) {
  pid_ = spawn(log_file, with_set(overrides));
  const auto deadline = std::chrono::steady_clock::now()
                        + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto text = read_file(log_file_);
    const auto at = text.find("http-listening");
    if (at != std::string::npos) {
      const auto port_at = text.find(" port=", at);
      if (port_at != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::stoi(text.substr(port_at + 6)));
        return;
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("gateway exited during start-up:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_hard();
  throw std::runtime_error("gateway did not report http-listening:\n"
                           + read_file(log_file_));
}

gateway_process::~gateway_process() {
  if (pid_ > 0) {
    kill_hard();
  }
}

void gateway_process::kill_hard() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

int gateway_process::terminate(std::chrono::milliseconds limit) {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, SIGTERM);
  const int status = wait_exit(pid_, limit);
  if (status >= 0) {
    pid_ = -1;
  }
  return status;
}

std::string gateway_process::log() const {
  return read_file(log_file_);
}

int run_gateway_to_exit(const std::string& log_file,
                        const std::vector<std::string>& args,
                        std::chrono::milliseconds limit) {
  const pid_t pid = spawn(log_file, args);
  const int status = wait_exit(pid, limit);
  if (status < 0) {
    ::kill(pid, SIGKILL);
    wait_exit(pid, std::chrono::seconds(5));
  }
  return status;
}

std::string http_reply::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

http_client::http_client(std::uint16_t port, std::chrono::seconds timeout)
  : port_(port), timeout_(timeout) {
}

http_reply http_client::send(
  const std::string& method, const std::string& target,
  const std::string& body,
  const std::vector<std::pair<std::string, std::string>>& headers,
  const std::string& content_type) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port_);
  session.setTimeout(Poco::Timespan(timeout_.count(), 0));
  Poco::Net::HTTPRequest request(method, target,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : headers) {
    request.set(name, value);
  }
  if (!body.empty() || method == "POST") {
    request.setContentType(content_type);
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  auto& in = session.receiveResponse(response);
  http_reply reply;
  reply.status = response.getStatus();
  for (const auto& [name, value] : response) {
    reply.headers[name] = value;
  }
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

http_reply http_client::get(const std::string& target,
                            const std::string& token) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + token);
  }
  return send("GET", target, "", headers);
}

http_reply http_client::post_json(const std::string& target,
                                  const std::string& body,
                                  const std::string& token) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + token);
  }
  return send("POST", target, body, headers);
}

http_reply http_client::del(const std::string& target,
                            const std::string& token) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + token);
  }
  return send("DELETE", target, "", headers);
}

std::string http_client::send_raw(const std::string& bytes,
                                  std::chrono::milliseconds limit) {
  Poco::Net::StreamSocket socket;
  socket.connect(Poco::Net::SocketAddress("127.0.0.1", port_));
  socket.setReceiveTimeout(Poco::Timespan(
    std::chrono::duration_cast<std::chrono::microseconds>(limit).count()));
  socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
  std::string received;
  char buffer[4096];
  try {
    for (;;) {
      const int n = socket.receiveBytes(buffer, sizeof(buffer));
      if (n <= 0) {
        break;
      }
      received.append(buffer, static_cast<std::size_t>(n));
    }
  } catch (const Poco::TimeoutException&) {
  }
  return received;
}

std::vector<std::pair<std::string, std::string>>
voice_params(const std::string& account_sid, const std::string& call_sid,
             const std::string& from, const std::string& to,
             const std::string& direction) {
  return {{"AccountSid", account_sid}, {"ApiVersion", "2010-04-01"},
          {"CallSid", call_sid},       {"CallStatus", "ringing"},
          {"Called", to},              {"CalledCountry", "US"},
          {"Caller", from},            {"CallerCountry", "US"},
          {"Direction", direction},    {"From", from},
          {"FromCountry", "US"},       {"To", to},
          {"ToCountry", "US"}};
}

std::vector<std::pair<std::string, std::string>>
status_params(const std::string& account_sid, const std::string& call_sid,
              const std::string& from, const std::string& to,
              const std::string& status, std::optional<int> sequence,
              std::optional<int> duration) {
  std::vector<std::pair<std::string, std::string>> params = {
    {"AccountSid", account_sid}, {"ApiVersion", "2010-04-01"},
    {"CallSid", call_sid},       {"CallStatus", status},
    {"Direction", "inbound"},    {"From", from},
    {"To", to},                  {"Timestamp", "Fri, 04 Dec 2026 15:00:00 +0000"}};
  if (sequence) {
    params.emplace_back("SequenceNumber", std::to_string(*sequence));
  }
  if (duration) {
    params.emplace_back("CallDuration", std::to_string(*duration));
  }
  return params;
}

http_reply post_signed(http_client& client, const std::string& target,
                       const std::string& public_base_url,
                       const std::string& auth_token,
                       const std::vector<std::pair<std::string, std::string>>&
                         params) {
  const auto signature =
    twilio::compute_signature(auth_token, public_base_url + target, params);
  return client.send("POST", target, twilio::form_encode(params),
                     {{"X-Twilio-Signature", signature}},
                     "application/x-www-form-urlencoded");
}

std::string random_call_sid() {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string sid = "CA";
  for (int i = 0; i < 32; ++i) {
    sid.push_back(hex[engine() % 16]);
  }
  return sid;
}

} // namespace skyiq::testing

// fake-twilio: serves the fake Twilio REST API on 127.0.0.1 until SIGTERM
// or SIGINT, loading accounts and numbers from a JSON file:
//   {"accounts": [{"sid", "authToken", "status",
//                  "numbers": [{"phoneNumber", "sid", "friendlyName"}]}]}
// "status" defaults to "active" and "friendlyName" to the number.

#include "tests/fake_twilio/fake_twilio.hpp"

#include <nlohmann/json.hpp>

#include <Poco/Exception.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace {

using nlohmann::json;

constexpr const char* usage =
    "usage: fake-twilio FILE.json [--port N]\n"
    "Serves a fake Twilio REST API on 127.0.0.1 (port 0 picks a free one)\n"
    "with the accounts and numbers in FILE.json, until SIGTERM or SIGINT.\n";

struct arguments {
  std::string file;
  std::uint16_t port = 0;
};

bool parse_arguments(int argc, char** argv, arguments& out) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      const long port = std::strtol(argv[++i], nullptr, 10);
      if (port < 0 || port > 65535) {
        return false;
      }
      out.port = static_cast<std::uint16_t>(port);
    } else if (out.file.empty() && arg.rfind("--", 0) != 0) {
      out.file = arg;
    } else {
      return false;
    }
  }
  return !out.file.empty();
}

void load_accounts(skyiq::testing::fake_twilio& fake, const json& config) {
  for (const auto& account : config.at("accounts")) {
    const auto sid = account.at("sid").get<std::string>();
    fake.add_account(sid, account.at("authToken").get<std::string>(),
                     account.value("status", "active"));
    for (const auto& number : account.value("numbers", json::array())) {
      fake.add_number(sid, number.at("phoneNumber").get<std::string>(),
                      number.at("sid").get<std::string>(),
                      number.value("friendlyName", ""));
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  arguments args;
  if (!parse_arguments(argc, argv, args)) {
    std::cerr << usage;
    return 2;
  }

  // Blocked before the server starts its threads, so that only sigwait
  // below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    std::ifstream in(args.file);
    if (!in) {
      std::cerr << "fake-twilio: cannot open " << args.file << "\n";
      return 1;
    }
    const auto config = json::parse(in);
    skyiq::testing::fake_options options;
    options.port = args.port;
    skyiq::testing::fake_twilio fake(options);
    load_accounts(fake, config);
    std::cout << "fake-twilio listening on " << fake.base_url() << std::endl;

    int received = 0;
    sigwait(&signals, &received);
    return 0;
  } catch (const json::exception& e) {
    std::cerr << "fake-twilio: invalid " << args.file << ": " << e.what()
              << "\n";
  } catch (const Poco::Exception& e) {
    std::cerr << "fake-twilio: cannot serve: " << e.displayText() << "\n";
  }
  return 1;
}

// skyiq-sign-webhook: prints the X-Twilio-Signature that Twilio would send
// for a webhook, so that a signed request can be replayed with curl:
//
//   args="--token-env TWILIO_AUTH_TOKEN --url $URL --param To=+14155550123"
//   curl -H "X-Twilio-Signature: $(skyiq-sign-webhook $args)"
//        --data-binary "$(skyiq-sign-webhook $args --print-body)" "$URL"
//
// The auth token is read from a file or an environment variable, never
// from the command line, where other users can see it in ps.

#include "actors/twilio/signature.hpp"
#include "storage/errors.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>

namespace {

using skyiq::twilio::form_params;

constexpr const char* usage =
    R"(usage: skyiq-sign-webhook (--token-file FILE | --token-env VAR) --url URL
                          [--param Name=Value ...] [--form-file FILE]
                          [--print-body]

Prints the X-Twilio-Signature of a form-encoded webhook request.

  --token-file FILE   read the Twilio auth token from FILE (one line)
  --token-env VAR     read the Twilio auth token from environment variable VAR
  --url URL           the full URL Twilio calls, query included
  --param Name=Value  a POST parameter, taken literally (repeatable)
  --form-file FILE    POST parameters as a form-encoded body ('-' for stdin);
                      they come before those of --param
  --print-body        print the form-encoded body instead of the signature,
                      for curl --data-binary
)";

struct arguments {
  std::optional<std::string> token_file;
  std::optional<std::string> token_env;
  std::string url;
  std::optional<std::string> form_file;
  form_params params;
  bool print_body = false;
};

// Thrown for a problem the user can fix. main prints it and exits with 1.
struct failure {
  std::string message;
};

// Thrown for a command-line mistake. main prints it and the usage and exits
// with 2.
struct usage_error {
  std::string message;
};

std::string option_value(int argc, char** argv, int& i) {
  if (i + 1 >= argc) {
    throw usage_error{std::string(argv[i]) + " needs a value"};
  }
  return argv[++i];
}

std::pair<std::string, std::string> split_param(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw usage_error{"--param needs Name=Value, got '" + text + "'"};
  }
  return {text.substr(0, equals), text.substr(equals + 1)};
}

arguments parse_arguments(int argc, char** argv) {
  arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--token-file") {
      args.token_file = option_value(argc, argv, i);
    } else if (arg == "--token-env") {
      args.token_env = option_value(argc, argv, i);
    } else if (arg == "--url") {
      args.url = option_value(argc, argv, i);
    } else if (arg == "--param") {
      args.params.push_back(split_param(option_value(argc, argv, i)));
    } else if (arg == "--form-file") {
      args.form_file = option_value(argc, argv, i);
    } else if (arg == "--print-body") {
      args.print_body = true;
    } else {
      throw usage_error{"unknown argument '" + arg + "'"};
    }
  }
  if (args.token_file.has_value() == args.token_env.has_value()) {
    throw usage_error{"give exactly one of --token-file and --token-env"};
  }
  if (args.url.rfind("https://", 0) != 0 && args.url.rfind("http://", 0) != 0) {
    throw usage_error{"--url needs an http:// or https:// URL"};
  }
  return args;
}

std::string read_all(std::istream& in) {
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string read_file(const std::string& path) {
  if (path == "-") {
    return read_all(std::cin);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw failure{"cannot open " + path};
  }
  return read_all(in);
}

std::string read_token(const arguments& args) {
  std::string token;
  std::string source;
  if (args.token_file) {
    token = read_file(*args.token_file);
    source = "file " + *args.token_file;
  } else {
    const char* value = std::getenv(args.token_env->c_str());
    token = value != nullptr ? value : "";
    source = "environment variable " + *args.token_env;
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' ||
                            token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) {
    throw failure{"no auth token in " + source};
  }
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    throw failure{source + " must contain only the auth token, on one line"};
  }
  return token;
}

form_params collect_params(const arguments& args) {
  form_params params;
  if (args.form_file) {
    auto parsed = skyiq::twilio::parse_form(read_file(*args.form_file));
    if (!parsed) {
      throw failure{*args.form_file + ": " + skyiq::message_of(parsed.error())};
    }
    params = std::move(*parsed);
  }
  params.insert(params.end(), args.params.begin(), args.params.end());
  return params;
}

} // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 2 && std::string(argv[1]) == "--help") {
      std::cout << usage;
      return 0;
    }
    const auto args = parse_arguments(argc, argv);
    const auto params = collect_params(args);
    if (args.print_body) {
      std::cout << skyiq::twilio::form_encode(params) << "\n";
      return 0;
    }
    const auto token = read_token(args);
    std::cout << skyiq::twilio::compute_signature(token, args.url, params)
              << "\n";
    return 0;
  } catch (const usage_error& error) {
    std::cerr << "skyiq-sign-webhook: " << error.message << "\n" << usage;
    return 2;
  } catch (const failure& error) {
    std::cerr << "skyiq-sign-webhook: " << error.message << "\n";
    return 1;
  }
}

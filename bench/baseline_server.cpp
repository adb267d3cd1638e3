// skyiq-bench-baseline: the ceiling the gateway is compared against. A
// Poco HTTPServer that reads and discards the request body and responds
// to every request with a fixed 200, on the same connection settings as the
// gateway's http/server.cpp (own thread pool, keep-alive for at most 1000
// requests or 15 s idle). Prints "baseline-listening port=N" on stdout and
// runs until SIGTERM or SIGINT.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>

namespace {

constexpr const char* usage =
  "usage: skyiq-bench-baseline [--port N] [--threads N]\n"
  "Answers every HTTP request on 127.0.0.1 with a fixed 200 until SIGTERM.\n"
  "  --port N     port to listen on; 0 (the default) picks a free one\n"
  "  --threads N  size of the server's thread pool, one keep-alive\n"
  "               connection per thread (default 64)\n";

struct arguments {
  int port = 0;
  int threads = 64;
};

bool parse_number(const char* text, int min, int max, int& out) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < min || value > max) {
    return false;
  }
  out = static_cast<int>(value);
  return true;
}

bool parse_arguments(int argc, char** argv, arguments& out) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      return false;
    }
    if (arg == "--port") {
      if (!parse_number(argv[++i], 0, 65535, out.port)) {
        return false;
      }
    } else if (arg == "--threads") {
      if (!parse_number(argv[++i], 1, 4096, out.threads)) {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

class fixed_handler : public Poco::Net::HTTPRequestHandler {
public:
  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& out) override {
    // The body must be consumed, or the next request on the keep-alive
    // connection is parsed from its remains.
    in.stream().ignore(std::numeric_limits<std::streamsize>::max());
    static const std::string body = "ok\n";
    out.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
    out.setContentType("text/plain");
    out.setContentLength(static_cast<std::streamsize>(body.size()));
    out.send() << body;
  }
};

class fixed_factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
  Poco::Net::HTTPRequestHandler*
  createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new fixed_handler;
  }
};

} // namespace

int main(int argc, char** argv) {
  arguments args;
  if (!parse_arguments(argc, argv, args)) {
    std::cerr << usage;
    return 2;
  }

  // Blocked before Poco starts its threads, so that only sigwait below
  // receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress("127.0.0.1",
                                         static_cast<Poco::UInt16>(args.port)),
                true);
    socket.listen(256);

    // Poco's default pool has 16 threads, and HTTPServer keeps one thread
    // busy per keep-alive connection, so connections beyond 16 would wait.
    Poco::ThreadPool pool(std::min(args.threads, 2), args.threads);
    auto params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(args.threads);
    params->setMaxQueued(256);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(1000);
    params->setKeepAliveTimeout(Poco::Timespan(15, 0));
    params->setTimeout(Poco::Timespan(15, 0));
    Poco::Net::HTTPServer server(new fixed_factory, pool, socket, params);
    server.start();
    std::cout << "baseline-listening port=" << socket.address().port()
              << " threads=" << args.threads << std::endl;

    int received = 0;
    sigwait(&signals, &received);
    server.stopAll(false);
    pool.joinAll();
    return 0;
  } catch (const Poco::Exception& e) {
    std::cerr << "skyiq-bench-baseline: cannot serve on port " << args.port
              << ": " << e.displayText() << "\n";
  }
  return 1;
}

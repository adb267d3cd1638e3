// Measures group commit: N webhook inserts as N one-item commits versus
// one N-item commit. Usage:
//   storage_bench [--url URL] [--count N] [--rounds R]
// Without --url it uses a SQLite file in a fresh /tmp directory. Against
// PostgreSQL, point --url at a throwaway database: the rows stay there.

#include "storage/account_store.hpp"
#include "storage/call_writer.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/errors.hpp"
#include "storage/user_store.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace skyiq;
using namespace skyiq::storage;

namespace {

constexpr long max_count = 10000;
constexpr long max_rounds = 20;

struct bench_options {
  std::string url;
  long count = 256;
  long rounds = 3;
};

bool parse_args(int argc, char** argv, bench_options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name == "--url") {
      options.url = argv[i + 1];
    } else if (name == "--count") {
      options.count = std::strtol(argv[i + 1], nullptr, 10);
    } else if (name == "--rounds") {
      options.rounds = std::strtol(argv[i + 1], nullptr, 10);
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && options.count >= 1 && options.count <= max_count
         && options.rounds >= 1 && options.rounds <= max_rounds;
}

call_write webhook(const account_store& store, const std::string& call_sid) {
  call_record call;
  call.call_sid = call_sid;
  call.from = "+15550001111";
  call.to = "+15550002222";
  call.direction = "inbound";
  call.status = "ringing";
  return store.prepare_webhook_call(std::move(call));
}

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  using ms = std::chrono::duration<double, std::milli>;
  return ms(std::chrono::steady_clock::now() - start).count();
}

int run(const bench_options& options) {
  auto db = database::open({options.url, 4});
  if (!db) {
    std::fprintf(stderr, "open failed: %s\n",
                 message_of(db.error()).c_str());
    return 1;
  }
  auto key = master_key::from_hex(std::string(64, 'a'));
  user_store users(*db, {64, 1, 1}, std::chrono::hours(1));
  auto session = users.signup("bench-" + random_id() + "@example.com",
                              "bench password");
  if (!session) {
    std::fprintf(stderr, "signup failed: %s\n",
                 message_of(session.error()).c_str());
    return 1;
  }
  account_store store(*db, *key, session->account_id);
  call_writer writer(*db);
  std::printf("backend=%s count=%ld\n", (*db)->backend().c_str(),
              options.count);
  for (long round = 0; round < options.rounds; ++round) {
    auto prefix = "CA" + std::to_string(round) + "-";
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < options.count; ++i) {
      auto result = writer.commit({webhook(store, prefix + "s" +
                                                    std::to_string(i))});
      if (!result[0]) {
        std::fprintf(stderr, "commit failed: %s\n",
                     message_of(result[0].error()).c_str());
        return 1;
      }
    }
    auto single_ms = elapsed_ms(start);
    std::vector<call_write> batch;
    for (long i = 0; i < options.count; ++i) {
      batch.push_back(webhook(store, prefix + "b" + std::to_string(i)));
    }
    start = std::chrono::steady_clock::now();
    auto results = writer.commit(batch);
    auto batch_ms = elapsed_ms(start);
    if (!results[0]) {
      std::fprintf(stderr, "batch failed: %s\n",
                   message_of(results[0].error()).c_str());
      return 1;
    }
    std::printf("round=%ld single_commits_ms=%.1f one_batch_ms=%.1f "
                "ratio=%.1f\n",
                round, single_ms, batch_ms, single_ms / batch_ms);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  bench_options options;
  if (!parse_args(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: storage_bench [--url URL] [--count 1..%ld] "
                 "[--rounds 1..%ld]\n",
                 max_count, max_rounds);
    return 2;
  }
  std::string dir;
  if (options.url.empty()) {
    char pattern[] = "/tmp/skyiq-storage-bench.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = pattern;
    options.url = "sqlite:" + dir + "/bench.db";
  }
  int rc = run(options);
  if (!dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  return rc;
}

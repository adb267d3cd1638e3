#pragma once

// Internal to fake_twilio: the accounts, numbers and faults behind the
// server, and the REST logic that responds to requests.

#include "tests/fake_twilio/fake_twilio.hpp"

#include <condition_variable>
#include <mutex>

namespace skyiq::testing {

/// A response of the fake: status, JSON body and optional Retry-After.
struct fake_response {
  int status = 200;
  std::string body;
  std::optional<int> retry_after_seconds;
};

/// Basic auth user name and password of a request.
struct basic_auth {
  std::string user;
  std::string password;
};

struct fake_state {
  struct account {
    std::string sid;
    std::string auth_token;
    std::string status;
    std::string date_created;
  };

  explicit fake_state(std::size_t page_size);

  void add_account(const std::string& sid, const std::string& auth_token,
                   const std::string& status);
  void set_account_status(const std::string& sid, const std::string& status);
  void add_number(number_state number);
  std::optional<number_state> number(const std::string& sid) const;
  void set_page_size(std::size_t page_size);

  void inject(fault f);
  /// Returns the first fault matching the request and uses up one of its
  /// count.
  std::optional<fault> take_fault(const std::string& method,
                                  const std::string& target);

  void record(recorded_request request);
  std::vector<recorded_request> requests() const;
  void clear_requests();

  /// Returns the Account SID that `auth` authenticates, if any.
  std::optional<std::string>
  authenticate(const std::optional<basic_auth>& auth) const;

  /// Responds to one REST request made as `account_sid`, the authenticated
  /// account, or as nobody when it is empty.
  fake_response handle(const std::string& method, const std::string& target,
                       const std::string& body,
                       const std::optional<std::string>& account_sid);

  /// Waits for `delay`. Returns false when `stop` ended the wait early.
  bool wait(std::chrono::milliseconds delay);
  void stop();

private:
  fake_response fetch_account(const std::string& sid) const;
  fake_response list_numbers(const std::string& account_sid,
                             const std::string& target) const;
  fake_response update_number(const std::string& account_sid,
                              const std::string& number_sid,
                              const std::string& body);
  fake_response fetch_number(const std::string& account_sid,
                             const std::string& number_sid) const;

  mutable std::mutex mutex_;
  std::condition_variable stopped_changed_;
  bool stopped_ = false;
  std::size_t page_size_;
  std::vector<account> accounts_;
  /// In insertion order, which is also the list order.
  std::vector<number_state> numbers_;
  std::vector<fault> faults_;
  std::vector<recorded_request> requests_;
};

/// Builds Twilio's JSON error body.
fake_response twilio_error_response(int status, int code,
                                    const std::string& message);

} // namespace skyiq::testing

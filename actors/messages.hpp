#pragma once

#include "storage/account_store.hpp"
#include "storage/call_writer.hpp"
#include "storage/types.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/type_id.hpp>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace skyiq::actors {

/// A signed Twilio request (voice webhook or status callback) as the HTTP
/// layer received it: the public URL Twilio called, the body's parameters
/// in arrival order and the `X-Twilio-Signature` header.
struct twilio_request {
  std::string url;
  std::vector<std::pair<std::string, std::string>> params;
  std::string signature;
  std::string request_id;
};

/// `POST /api/twilio/setup/:userId` after syntax checks: a well-formed
/// Account SID and a number already normalized to E.164.
struct setup_request {
  std::string account_sid;
  std::string auth_token;
  std::string e164;
  std::string request_id;
};

/// Result of a successful setup.
struct setup_result {
  std::string phone_number;
  std::string phone_number_sid;
  std::string voice_url;
  std::string status_callback;
  /// True when the number was newly claimed by the account.
  bool created = false;
};

/// `POST /api/twilio/numbers/:userId`: credentials from the body, or
/// empty to use the stored ones.
struct numbers_request {
  std::string account_sid;
  std::string auth_token;
  std::string request_id;
};

/// One number of the account's Twilio account.
struct number_entry {
  std::string phone_number;
  std::string phone_number_sid;
  std::string friendly_name;
  std::string voice_url;
  bool claimed_by_you = false;
};

using number_list = std::vector<number_entry>;

/// A profile update: each field is absent when the body did not name it;
/// a named field set to null clears the value.
struct profile_patch {
  std::optional<std::optional<std::string>> business_name;
  std::optional<std::optional<std::string>> greeting;
  std::optional<std::optional<std::string>> timezone;
  std::optional<std::optional<std::string>> hours;
  std::optional<std::optional<std::string>> forward_to;
};

/// `setup_request` as it crosses a node link: the auth token sealed under
/// the master key that every node shares, with the account id as
/// associated data, so that it never travels in plain text.
struct forwarded_setup {
  std::string account_sid;
  std::string sealed_token;
  std::string e164;
  std::string request_id;
};

/// `numbers_request` as it crosses a node link, its token sealed like
/// `forwarded_setup`'s; both fields are empty to use the stored
/// credentials.
struct forwarded_numbers {
  std::string account_sid;
  std::string sealed_token;
  std::string request_id;
};

class io_context;

/// Blocking work run on an I/O worker thread; returns the reply message
/// (a value, or a `caf::error`).
struct io_job {
  std::function<caf::message(io_context&)> run;
};

/// Asynchronous work run inside a bridge actor on behalf of a thread that
/// is not an actor.
struct bridge_job {
  std::function<void(caf::event_based_actor*)> run;
};

} // namespace skyiq::actors

CAF_BEGIN_TYPE_ID_BLOCK(skyiq, caf::first_custom_type_id)

CAF_ADD_ATOM(skyiq, skyiq::actors, voice_atom, "voice")
CAF_ADD_ATOM(skyiq, skyiq::actors, status_atom, "status")
CAF_ADD_ATOM(skyiq, skyiq::actors, setup_atom, "setup")
CAF_ADD_ATOM(skyiq, skyiq::actors, numbers_atom, "numbers")
CAF_ADD_ATOM(skyiq, skyiq::actors, profile_atom, "profile")
CAF_ADD_ATOM(skyiq, skyiq::actors, update_atom, "update")
CAF_ADD_ATOM(skyiq, skyiq::actors, list_atom, "list")
CAF_ADD_ATOM(skyiq, skyiq::actors, create_atom, "create")
CAF_ADD_ATOM(skyiq, skyiq::actors, delete_atom, "delete")
CAF_ADD_ATOM(skyiq, skyiq::actors, account_atom, "account")
CAF_ADD_ATOM(skyiq, skyiq::actors, write_atom, "write")
CAF_ADD_ATOM(skyiq, skyiq::actors, stop_atom, "stop")
CAF_ADD_ATOM(skyiq, skyiq::actors, count_atom, "count")
CAF_ADD_ATOM(skyiq, skyiq::actors, forward_atom, "forward")
CAF_ADD_ATOM(skyiq, skyiq::actors, hello_atom, "hello")
CAF_ADD_ATOM(skyiq, skyiq::actors, tick_atom, "tick")
CAF_ADD_ATOM(skyiq, skyiq::actors, reconcile_atom, "reconcile")
CAF_ADD_ATOM(skyiq, skyiq::actors, retry_atom, "retry")
CAF_ADD_ATOM(skyiq, skyiq::actors, join_atom, "join")

CAF_END_TYPE_ID_BLOCK(skyiq)

// The other message types have `inspect` overloads and may cross a node
// link. These stay whitelisted for one node only. setup_request and
// numbers_request carry a Twilio auth token in plain text, so they cross
// a link as forwarded_setup and forwarded_numbers instead. io_job and
// bridge_job hold a std::function. A call_write is a write bound to one account that
// only account_store may build, so a peer must not be able to construct
// one. The group-commit writer runs on the account's own node anyway.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(skyiq::actors::setup_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(skyiq::actors::numbers_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(skyiq::actors::io_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(skyiq::actors::bridge_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(skyiq::storage::call_write)

#include "actors/cluster/message_inspect.hpp"

#pragma once

// CAF 0.17 `inspect` overloads of the message types that may cross a node
// link. They define the wire format: fields in declaration order, so a
// change here must happen on every node at once. `messages.hpp` includes
// this header; `message_types.hpp` registers the types.

#include "actors/messages.hpp"
#include "storage/leases.hpp"
#include "storage/types.hpp"

#include <caf/meta/type_name.hpp>

#include <optional>
#include <type_traits>
#include <utility>

namespace skyiq::cluster::detail {

/// A reference to a `std::optional` field, which CAF 0.17's inspectors do
/// not handle: it travels as a presence flag followed by the value.
template <class T>
struct optional_ref {
  std::optional<T>& value;
};

/// A field inspected only when `present` is true. The inspector reads the
/// flag before it reaches this field.
template <class T>
struct present_if {
  const bool& present;
  T& value;
};

template <class T>
T& field(T& x) {
  return x;
}

template <class T>
optional_ref<T> field(std::optional<T>& x) {
  return {x};
}

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, present_if<T>& x) {
  return x.present ? f(x.value) : f();
}

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_ref<T>& x) {
  if constexpr (Inspector::reads_state) {
    if (!x.value) {
      return f(false);
    }
    decltype(auto) inner = field(*x.value);
    return f(true, inner);
  } else {
    bool present = false;
    T loaded{};
    decltype(auto) inner = field(loaded);
    present_if<std::remove_reference_t<decltype(inner)>> tail{present, inner};
    auto result = f(present, tail);
    if (present) {
      x.value = std::move(loaded);
    } else {
      x.value.reset();
    }
    return result;
  }
}

} // namespace skyiq::cluster::detail

namespace skyiq::storage {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_record& x) {
  using cluster::detail::field;
  auto started_at = field(x.started_at);
  auto ended_at = field(x.ended_at);
  auto duration_seconds = field(x.duration_seconds);
  return f(caf::meta::type_name("skyiq::call_record"), x.id, x.call_sid,
           x.from, x.to, x.direction, x.status, x.created_at, started_at,
           ended_at, duration_seconds, x.last_sequence);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_update& x) {
  using cluster::detail::field;
  auto sequence_number = field(x.sequence_number);
  auto duration_seconds = field(x.duration_seconds);
  return f(caf::meta::type_name("skyiq::status_update"), x.call_sid,
           x.status, x.from, x.to, x.direction, sequence_number,
           duration_seconds, x.event_time);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_query& x) {
  return f(caf::meta::type_name("skyiq::call_query"), x.limit, x.cursor,
           x.status);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_page& x) {
  return f(caf::meta::type_name("skyiq::call_page"), x.calls,
           x.next_cursor);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, business_profile& x) {
  using cluster::detail::field;
  auto business_name = field(x.business_name);
  auto greeting = field(x.greeting);
  auto timezone = field(x.timezone);
  auto hours = field(x.hours);
  auto forward_to = field(x.forward_to);
  return f(caf::meta::type_name("skyiq::business_profile"), business_name,
           greeting, timezone, hours, forward_to);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease& x) {
  return f(caf::meta::type_name("skyiq::lease"), x.account_id, x.owner_node,
           x.epoch, x.expires_at);
}

} // namespace skyiq::storage

namespace skyiq::actors {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forwarded_setup& x) {
  return f(caf::meta::type_name("skyiq::forwarded_setup"), x.account_sid,
           x.sealed_token, x.e164, x.request_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forwarded_numbers& x) {
  return f(caf::meta::type_name("skyiq::forwarded_numbers"), x.account_sid,
           x.sealed_token, x.request_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, twilio_request& x) {
  return f(caf::meta::type_name("skyiq::twilio_request"), x.url, x.params,
           x.signature, x.request_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, setup_result& x) {
  return f(caf::meta::type_name("skyiq::setup_result"), x.phone_number,
           x.phone_number_sid, x.voice_url, x.status_callback, x.created);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, number_entry& x) {
  return f(caf::meta::type_name("skyiq::number_entry"), x.phone_number,
           x.phone_number_sid, x.friendly_name, x.voice_url,
           x.claimed_by_you);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, profile_patch& x) {
  using cluster::detail::field;
  auto business_name = field(x.business_name);
  auto greeting = field(x.greeting);
  auto timezone = field(x.timezone);
  auto hours = field(x.hours);
  auto forward_to = field(x.forward_to);
  return f(caf::meta::type_name("skyiq::profile_patch"), business_name,
           greeting, timezone, hours, forward_to);
}

} // namespace skyiq::actors

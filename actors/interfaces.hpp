#pragma once

#include "actors/messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>

namespace skyiq::actors {

/// One actor per account. It owns the decrypted Twilio credentials, the
/// business profile and the account's storage handle; nothing it replies
/// belongs to another account.
using account_actor = caf::typed_actor<
    // Validates a voice webhook, records the call durably, returns TwiML.
    caf::replies_to<voice_atom, twilio_request>::with<std::string>,
    // Validates a status callback and applies it durably.
    caf::replies_to<status_atom, twilio_request>::with<bool>,
    // Connects a Twilio number: validate, claim, configure, store.
    caf::replies_to<setup_atom, setup_request>::with<setup_result>,
    // Lists the numbers of the account's own Twilio account.
    caf::replies_to<numbers_atom, numbers_request>::with<number_list>,
    // Returns the business profile.
    caf::replies_to<profile_atom>::with<storage::business_profile>,
    // Applies a profile patch and returns the whole profile.
    caf::replies_to<update_atom,
                    profile_patch>::with<storage::business_profile>,
    // Returns one page of the account's calls.
    caf::replies_to<list_atom, storage::call_query>::with<storage::call_page>,
    // Creates a call record for one of the account's claimed numbers.
    caf::replies_to<create_atom,
                    storage::call_record>::with<storage::call_record>,
    // Deletes one of the account's calls.
    caf::replies_to<delete_atom, std::string>::with<bool>>;

/// One per node: maps account ids to live account actors, activating an
/// account on first use and forgetting it when it exits.
using registry_actor = caf::typed_actor<
    // Returns the account actor of an account id, activating it if needed.
    caf::replies_to<account_atom, std::string>::with<account_actor>,
    // Returns the number of live account actors.
    caf::replies_to<count_atom>::with<std::size_t>,
    // Takes the leases this node kept at a renewal that started at the
    // given time (ms since the Unix epoch). Stops the account actors whose
    // lease was lost or whose account moved to another node, and returns
    // the leases to release.
    caf::replies_to<reconcile_atom, std::vector<storage::lease>,
                    std::int64_t>::with<std::vector<storage::lease>>,
    // Tries again to activate an account whose lease another node held.
    caf::reacts_to<retry_atom, std::string>>;

/// The group-commit writer: one transaction for every write that arrived
/// while the previous one was committing.
using writer_actor = caf::typed_actor<
    // Commits one write and returns the resulting record once durable.
    caf::replies_to<write_atom,
                    storage::call_write>::with<storage::call_record>,
    // Commits one write and returns the given reply (a voice webhook's
    // TwiML) once durable, so that the writer can reply to the webhook's
    // sender directly.
    caf::replies_to<write_atom, storage::call_write,
                    std::string>::with<std::string>>;

} // namespace skyiq::actors

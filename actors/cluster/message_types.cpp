#include "actors/cluster/message_types.hpp"

#include "actors/cluster/message_inspect.hpp"

#include <caf/actor_system_config.hpp>

namespace skyiq::cluster {

caf::actor_system_config& add_message_types(caf::actor_system_config& config) {
  // The names are the wire names of the types and must match the
  // `caf::meta::type_name` of each `inspect` overload. Registering
  // number_entry also registers std::vector<number_entry> (number_list),
  // and call_record the vector inside call_page.
  config.add_message_type<actors::twilio_request>("skyiq::twilio_request");
  config.add_message_type<actors::setup_result>("skyiq::setup_result");
  config.add_message_type<actors::number_entry>("skyiq::number_entry");
  config.add_message_type<actors::profile_patch>("skyiq::profile_patch");
  config.add_message_type<storage::call_record>("skyiq::call_record");
  config.add_message_type<storage::status_update>("skyiq::status_update");
  config.add_message_type<storage::call_query>("skyiq::call_query");
  config.add_message_type<storage::call_page>("skyiq::call_page");
  config.add_message_type<storage::business_profile>(
    "skyiq::business_profile");
  config.add_message_type<storage::lease>("skyiq::lease");
  config.add_message_type<actors::forwarded_setup>("skyiq::forwarded_setup");
  config.add_message_type<actors::forwarded_numbers>(
    "skyiq::forwarded_numbers");
  return config;
}

} // namespace skyiq::cluster

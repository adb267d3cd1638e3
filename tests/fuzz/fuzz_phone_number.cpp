// Fuzzes E.164 normalization with libphonenumber. The first input byte
// picks the default region, including a lower-case, an unknown and an
// empty one. The rest is the number as a person or Twilio would send it.

#include "actors/twilio/phone_number.hpp"
#include "storage/errors.hpp"
#include "tests/fuzz/fuzz_harness.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

using skyiq::fuzzing::require;
namespace twilio = skyiq::twilio;

namespace {

const char* const regions[] = {"US", "GB", "DE", "FR", "IN", "AU", "BR", "JP",
                               "CA", "IT", "SH", "MX", "us", "gb", "ZZ", ""};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string region = regions[data[0] % std::size(regions)];
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto detail = "region '" + region + "' input '" + input + "'";

  auto result = twilio::normalize_e164(input, region);
  if (!result) {
    require(skyiq::code_of(result.error()) == skyiq::errc::invalid_phone_number,
            "a rejected number is invalid_phone_number", detail);
    require(skyiq::message_of(result.error()).find('\n') == std::string::npos,
            "the error message has no line break", detail);
    return 0;
  }
  require(twilio::is_e164(*result), "the result is E.164", detail);
  require(input.size() <= 40, "inputs over 40 characters are rejected", detail);

  // Normalizing the result again, under any region, changes nothing.
  for (const char* other : {"US", "GB", "ZZ"}) {
    auto again = twilio::normalize_e164(*result, other);
    require(static_cast<bool>(again), "a normalized number is accepted again",
            detail + " result '" + *result + "'");
    require(*again == *result, "normalization is idempotent",
            detail + " result '" + *result + "' again '" + *again + "'");
  }
  return 0;
}

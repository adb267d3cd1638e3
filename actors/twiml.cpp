#include "actors/twiml.hpp"

namespace skyiq::actors {

namespace {

constexpr const char* xml_header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

std::string greeting_of(const storage::business_profile& profile) {
  if (profile.greeting && !profile.greeting->empty()) {
    return *profile.greeting;
  }
  if (profile.business_name && !profile.business_name->empty()) {
    return "Thank you for calling " + *profile.business_name + ".";
  }
  return "Thank you for calling.";
}

} // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    default:
      out.push_back(c);
    }
  }
  return out;
}

std::string render_answer(const storage::business_profile& profile) {
  std::string doc = xml_header;
  doc += "<Response><Say>";
  doc += xml_escape(greeting_of(profile));
  doc += "</Say>";
  if (profile.forward_to && !profile.forward_to->empty()) {
    doc += "<Dial>" + xml_escape(*profile.forward_to) + "</Dial>";
  }
  doc += "</Response>";
  return doc;
}

std::string render_reject() {
  return std::string(xml_header) + "<Response><Reject/></Response>";
}

} // namespace skyiq::actors

#include "http/app.hpp"
#include "storage/database.hpp"

namespace skyiq::http {

void add_health_routes(router& table, services& app) {
  table.add({"GET", "/healthz", access::open, body_kind::none, [](request&) {
               return json_response(200, {{"status", "ok"}});
             }});
  table.add({"GET", "/readyz", access::open, body_kind::none, [&app](request&) {
               if (!app.database->ping()) {
                 return json_response(
                     503, {{"status", "not ready"},
                           {"reason", "the database is unreachable"}});
               }
               return json_response(200, {{"status", "ready"}});
             }});
  table.add(
      {"GET", "/metrics", access::open, body_kind::none, [&app](request&) {
         response result;
         result.content_type = "text/plain; version=0.0.4";
         result.body = app.stats->render();
         return result;
       }});
}

} // namespace skyiq::http

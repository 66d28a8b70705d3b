#include <boost/json.hpp>

#include "server/handlers/routes.h"
#include "server/json_body.h"
#include "server/responses.h"
#include "server/wire.h"

namespace runvoy::server {
namespace {

HttpResponse CreateSecret(service::Secrets& secrets, RequestContext& context) {
  auto body = JsonBody::Parse(context.request.body);
  if (!body) return ErrorResponse(body.error());
  service::SecretInput input;
  for (auto [field, target] : {std::pair{"name", &input.name}, std::pair{"key_name", &input.key_name},
                               std::pair{"value", &input.value}}) {
    auto value = body->RequiredString(field);
    if (!value) return ErrorResponse(value.error());
    *target = *value;
  }
  auto description = body->String("description");
  if (!description) return ErrorResponse(description.error());
  input.description = description->value_or("");
  context.audit_resource = "secret:" + input.name;
  return Respond(secrets.Create(context.caller, input), []() {
    return JsonResponse(201, boost::json::object{{"message", "secret created"}});
  });
}

HttpResponse UpdateSecret(service::Secrets& secrets, RequestContext& context) {
  auto body = JsonBody::Parse(context.request.body);
  if (!body) return ErrorResponse(body.error());
  service::SecretChange change;
  for (auto [field, target] :
       {std::pair{"key_name", &change.key_name}, std::pair{"value", &change.value},
        std::pair{"description", &change.description}}) {
    auto value = body->String(field);
    if (!value) return ErrorResponse(value.error());
    *target = *value;
  }
  context.audit_resource = "secret:" + context.params[0];
  return Respond(secrets.Update(context.caller, context.params[0], change), []() {
    return JsonResponse(200, boost::json::object{{"message", "secret updated"}});
  });
}

}  // namespace

void AddSecretRoutes(Router& router, service::Secrets& secrets) {
  router.Add({"GET", "/api/v1/secrets", auth::Action::kListSecrets,
              [&secrets](RequestContext& context) {
                return Respond(secrets.List(context.caller), [](const std::vector<core::Secret>& list) {
                  boost::json::array items;
                  for (const core::Secret& secret : list) items.push_back(SecretJson(secret));
                  const auto total = items.size();
                  return JsonResponse(200, boost::json::object{{"secrets", std::move(items)},
                                                               {"total", total}});
                });
              }});
  router.Add({"POST", "/api/v1/secrets", auth::Action::kCreateSecret,
              [&secrets](RequestContext& context) { return CreateSecret(secrets, context); }});
  router.Add({"GET", "/api/v1/secrets/{name}", auth::Action::kReadSecret,
              [&secrets](RequestContext& context) {
                context.audit_resource = "secret:" + context.params[0];
                return Respond(secrets.Get(context.caller, context.params[0]),
                               [](const service::SecretWithValue& found) {
                                 boost::json::object secret = SecretJson(found.secret);
                                 secret["value"] = found.value;
                                 return JsonResponse(200, boost::json::object{{"secret", std::move(secret)}});
                               });
              }});
  router.Add({"PUT", "/api/v1/secrets/{name}", auth::Action::kUpdateSecret,
              [&secrets](RequestContext& context) { return UpdateSecret(secrets, context); }});
  router.Add({"DELETE", "/api/v1/secrets/{name}", auth::Action::kDeleteSecret,
              [&secrets](RequestContext& context) {
                context.audit_resource = "secret:" + context.params[0];
                return Respond(secrets.Remove(context.caller, context.params[0]), [&]() {
                  return JsonResponse(200, boost::json::object{{"name", context.params[0]},
                                                               {"message", "secret deleted"}});
                });
              }});
}

}  // namespace runvoy::server

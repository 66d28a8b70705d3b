#include <boost/json.hpp>

#include "server/handlers/routes.h"
#include "server/json_body.h"
#include "server/responses.h"
#include "server/wire.h"

namespace runvoy::server {
namespace {

HttpResponse ListUsers(service::Users& users) {
  return Respond(users.List(), [](const std::vector<core::User>& list) {
    boost::json::array items;
    for (const core::User& user : list) items.push_back(UserJson(user));
    return JsonResponse(200, boost::json::object{{"users", std::move(items)}});
  });
}

HttpResponse CreateUser(service::Users& users, RequestContext& context) {
  auto body = JsonBody::Parse(context.request.body);
  if (!body) return ErrorResponse(body.error());
  auto email = body->RequiredString("email");
  if (!email) return ErrorResponse(email.error());
  auto role = body->RequiredString("role");
  if (!role) return ErrorResponse(role.error());
  auto api_key = body->String("api_key");
  if (!api_key) return ErrorResponse(api_key.error());
  context.audit_resource = "user:" + *email;
  return Respond(users.Create(context.caller, *email, *role, *api_key),
                 [](const service::CreatedUser& created) {
                   return JsonResponse(201, boost::json::object{
                                                {"user", UserJson(created.user)},
                                                {"claim_token", created.claim_token},
                                            });
                 });
}

HttpResponse RevokeUser(service::Users& users, RequestContext& context) {
  auto body = JsonBody::Parse(context.request.body);
  if (!body) return ErrorResponse(body.error());
  auto email = body->RequiredString("email");
  if (!email) return ErrorResponse(email.error());
  context.audit_resource = "user:" + *email;
  return Respond(users.Revoke(context.caller, *email), [](const core::User& user) {
    return JsonResponse(200, boost::json::object{{"message", "user revoked"},
                                                 {"email", user.email}});
  });
}

HttpResponse Claim(service::Users& users, RequestContext& context) {
  return Respond(users.Claim(context.params[0], context.request_id),
                 [&](const service::ClaimedKey& claimed) {
                   context.audit_resource = "user:" + claimed.email;
                   return JsonResponse(200, boost::json::object{
                                                {"api_key", claimed.api_key},
                                                {"user_email", claimed.email},
                                                {"message", "API key claimed; it is shown only once"},
                                            });
                 });
}

}  // namespace

void AddUserRoutes(Router& router, service::Users& users) {
  router.Add({"GET", "/api/v1/users", auth::Action::kListUsers,
              [&users](RequestContext&) { return ListUsers(users); }});
  router.Add({"GET", "/api/v1/users/", auth::Action::kListUsers,
              [&users](RequestContext&) { return ListUsers(users); }});
  router.Add({"POST", "/api/v1/users/create", auth::Action::kCreateUser,
              [&users](RequestContext& context) { return CreateUser(users, context); }});
  router.Add({"POST", "/api/v1/users/revoke", auth::Action::kRevokeUser,
              [&users](RequestContext& context) { return RevokeUser(users, context); }});
  router.Add({"GET", "/api/v1/claim/{token}", std::nullopt,
              [&users](RequestContext& context) { return Claim(users, context); }});
}

}  // namespace runvoy::server

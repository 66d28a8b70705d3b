#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <boost/json.hpp>
#include <unistd.h>

#include "core/image_reference.h"

#include "server/handlers/routes.h"
#include "server/json_body.h"
#include "server/responses.h"
#include "server/wire.h"

namespace runvoy::server {
namespace {

core::Result<service::ImageRegistration> ParseRegistration(const std::string& text) {
  auto body = JsonBody::Parse(text);
  if (!body) return tl::unexpected(body.error());
  service::ImageRegistration request;
  auto image = body->RequiredString("image");
  if (!image) return tl::unexpected(image.error());
  request.image = *image;
  auto is_default = body->Bool("is_default");
  if (!is_default) return tl::unexpected(is_default.error());
  request.is_default = is_default->value_or(false);
  for (auto [field, target] : {std::pair{"cpu", &request.cpu}, std::pair{"memory", &request.memory}}) {
    auto value = body->Integer(field);
    if (!value) return tl::unexpected(value.error());
    if (*value) {
      if (**value < INT32_MIN || **value > INT32_MAX) {
        return core::Fail(core::ErrorCode::kInvalidRequest, std::string("invalid ") + field);
      }
      *target = static_cast<int>(**value);
    }
  }
  auto platform = body->String("runtime_platform");
  if (!platform) return tl::unexpected(platform.error());
  if (*platform && !(*platform)->empty()) request.runtime_platform = **platform;
  auto task_role = body->String("task_role_name");
  if (!task_role) return tl::unexpected(task_role.error());
  request.task_role_name = task_role->value_or("");
  auto execution_role = body->String("task_execution_role_name");
  if (!execution_role) return tl::unexpected(execution_role.error());
  request.task_execution_role_name = execution_role->value_or("");
  return request;
}

HttpResponse Register(service::Images& images, RequestContext& context) {
  auto request = ParseRegistration(context.request.body);
  if (!request) return ErrorResponse(request.error());
  return Respond(images.Register(context.caller, *request), [&](const core::Image& image) {
    context.audit_resource = "image:" + image.image_id;
    return JsonResponse(201, boost::json::object{
                                 {"image", image.image},
                                 {"image_id", image.image_id},
                                 {"is_default", image.is_default},
                                 {"message", "image registered"},
                             });
  });
}

// POST /images/import?image=<name>: the body is a `docker save` or OCI layout tarball, stored
// by the compute provider, then registered like POST /images/register.
HttpResponse Import(service::Images& images, contract::ComputeProvider* compute,
                    RequestContext& context) {
  const std::string name = context.Query("image");
  if (name.empty()) {
    return ErrorResponse({core::ErrorCode::kInvalidRequest, "missing image",
                          "name the image: POST /api/v1/images/import?image=<name>"});
  }
  auto reference = core::ParseImageReference(name);
  if (!reference) return ErrorResponse(reference.error());
  if (context.request.body.empty()) {
    return ErrorResponse({core::ErrorCode::kInvalidRequest, "empty body",
                          "send the image tarball (docker save or OCI layout) as the body"});
  }
  if (compute == nullptr) {
    return ErrorResponse(
        {core::ErrorCode::kInvalidRequest, "this compute provider does not import images"});
  }
  std::string path = (std::filesystem::temp_directory_path() / "runvoy-import-XXXXXX").string();
  const int fd = ::mkstemp(path.data());
  if (fd < 0) {
    return ErrorResponse({core::ErrorCode::kInternal, "cannot store the upload",
                          std::strerror(errno)});
  }
  const std::string& body = context.request.body;
  size_t done = 0;
  while (done < body.size()) {
    const ssize_t n = ::write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (done != body.size()) {
    ::unlink(path.c_str());
    return ErrorResponse({core::ErrorCode::kInternal, "cannot store the upload"});
  }
  contract::ImageSpec spec;
  spec.reference = name;
  spec.normalized = reference->normalized;
  auto imported = compute->ImportImage(spec, path);
  ::unlink(path.c_str());
  if (!imported) return ErrorResponse(imported.error());
  service::ImageRegistration registration;
  registration.image = name;
  return Respond(images.Register(context.caller, registration), [&](const core::Image& image) {
    context.audit_resource = "image:" + image.image_id;
    return JsonResponse(201, boost::json::object{
                                 {"image", image.image},
                                 {"image_id", image.image_id},
                                 {"is_default", image.is_default},
                                 {"message", "image imported"},
                             });
  });
}

}  // namespace

void AddImageRoutes(Router& router, service::Images& images, contract::ComputeProvider* compute) {
  router.Add({"GET", "/api/v1/images", auth::Action::kListImages, [&images](RequestContext&) {
                return Respond(images.List(), [](const std::vector<core::Image>& list) {
                  boost::json::array items;
                  for (const core::Image& image : list) items.push_back(ImageJson(image));
                  return JsonResponse(200, boost::json::object{{"images", std::move(items)}});
                });
              }});
  router.Add({"POST", "/api/v1/images/register", auth::Action::kRegisterImage,
              [&images](RequestContext& context) { return Register(images, context); }});
  router.Add({"POST", "/api/v1/images/import", auth::Action::kImportImage,
              [&images, compute](RequestContext& context) {
                return Import(images, compute, context);
              }});
  router.Add({"GET", "/api/v1/images/{ref...}", auth::Action::kShowImage,
              [&images](RequestContext& context) {
                return Respond(images.Show(context.params[0]), [](const core::Image& image) {
                  return JsonResponse(200, ImageJson(image));
                });
              }});
  router.Add({"DELETE", "/api/v1/images/{image_id...}", auth::Action::kRemoveImage,
              [&images](RequestContext& context) {
                context.audit_resource = "image:" + context.params[0];
                return Respond(images.Remove(context.caller, context.params[0]),
                               [](const core::Image& image) {
                                 return JsonResponse(200, boost::json::object{
                                                              {"image", image.image_id},
                                                              {"message", "image removed"},
                                                          });
                               });
              }});
}

}  // namespace runvoy::server

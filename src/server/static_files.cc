#include "server/static_files.h"

#include "server/error_response.h"
#include "web/assets.h"

namespace runvoy::server {
namespace {

constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; connect-src 'self' ws: wss: http: https:; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

bool IsViewerPage(const std::string& path) {
  return path == "/" || path == "/logs" || path == "/settings" || path == "/claim" ||
         path == "/index.html";
}

}  // namespace

HttpResponse ServeViewer(const std::string& method, const std::string& path) {
  if (method != "GET" && method != "HEAD") {
    HttpResponse response = ErrorResponse({core::ErrorCode::kMethodNotAllowed,
                                           "method not allowed", "allowed: GET, HEAD"});
    response.SetHeader("Allow", "GET, HEAD");
    return response;
  }
  const web::Asset* asset = web::FindAsset(IsViewerPage(path) ? "/index.html" : path);
  if (asset == nullptr) return ErrorResponse({core::ErrorCode::kNotFound, "not found", {}});
  HttpResponse response;
  response.SetHeader("Content-Type", std::string(asset->content_type));
  response.SetHeader("Content-Security-Policy", kContentSecurityPolicy);
  response.SetHeader("X-Content-Type-Options", "nosniff");
  response.SetHeader("X-Frame-Options", "DENY");
  response.SetHeader("Referrer-Policy", "no-referrer");
  response.SetHeader("ETag", std::string(asset->etag));
  response.SetHeader("Cache-Control", "no-cache");
  if (method == "GET") response.body = std::string(asset->body);
  return response;
}

}  // namespace runvoy::server

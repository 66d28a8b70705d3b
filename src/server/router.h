#pragma once

// The route table: method + path pattern → handler. Routing comes first (SPEC.md §1): an
// unknown path is 404 and a known path with a wrong method is 405 with an Allow header.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth/policy.h"
#include "core/error.h"
#include "server/request_context.h"

namespace runvoy::server {

using RouteHandler = std::function<HttpResponse(RequestContext&)>;

struct Route {
  std::string method;
  // Segments like "/api/v1/executions/{id}/status"; a last segment "{name...}" takes the rest
  // of the path, slashes included.
  std::string pattern;
  // The action the policy checks before the handler runs; nullopt = public route.
  std::optional<auth::Action> action;
  RouteHandler handler;
};

// A request target split into decoded path segments and query parameters.
struct Target {
  std::vector<std::string> segments;
  std::string path;  // decoded, for logs and static files
  std::map<std::string, std::string> query;
};

// kInvalidRequest for malformed targets (bad percent-encoding, NUL bytes).
core::Result<Target> ParseTarget(const std::string& target);

struct RouteMatch {
  const Route* route = nullptr;      // set when path and method match
  std::vector<std::string> params;   // the {placeholders}' values, in order
  std::vector<std::string> allowed;  // methods the path accepts (for 405); empty = unknown path
};

// Filled at start-up, then read concurrently.
class Router {
 public:
  void Add(Route route);
  RouteMatch Match(const std::string& method, const std::vector<std::string>& segments) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace runvoy::server

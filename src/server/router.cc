#include "server/router.h"

#include <algorithm>

#include <boost/url/parse.hpp>

namespace runvoy::server {
namespace {

std::vector<std::string> SplitPattern(const std::string& pattern) {
  std::vector<std::string> parts;
  std::size_t start = 1;  // patterns start with "/"
  while (start <= pattern.size()) {
    const auto end = pattern.find('/', start);
    parts.push_back(pattern.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

bool IsPlaceholder(const std::string& part) {
  return part.size() > 2 && part.front() == '{' && part.back() == '}';
}

bool IsGreedy(const std::string& part) {
  return IsPlaceholder(part) && part.size() > 5 && part.compare(part.size() - 4, 4, "...}") == 0;
}

// Matches `segments` against `pattern`; fills params on success.
bool MatchPattern(const std::string& pattern, const std::vector<std::string>& segments,
                  std::vector<std::string>& params) {
  const std::vector<std::string> parts = SplitPattern(pattern);
  params.clear();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (IsGreedy(parts[i])) {
      if (i >= segments.size()) return false;
      std::string rest;
      for (std::size_t j = i; j < segments.size(); ++j) {
        if (j > i) rest += '/';
        rest += segments[j];
      }
      if (rest.empty()) return false;
      params.push_back(rest);
      return true;
    }
    if (i >= segments.size()) return false;
    if (IsPlaceholder(parts[i])) {
      if (segments[i].empty()) return false;
      params.push_back(segments[i]);
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  return parts.size() == segments.size();
}

}  // namespace

core::Result<Target> ParseTarget(const std::string& target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "malformed request target",
                      parsed.error().message());
  }
  Target out;
  for (auto segment : parsed->segments()) {
    std::string decoded(segment);
    if (decoded.find('\0') != std::string::npos) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "malformed request target",
                        "NUL byte in path");
    }
    out.segments.push_back(std::move(decoded));
  }
  out.path = std::string(parsed->path());
  for (auto param : parsed->params()) {
    out.query[std::string(param.key)] = param.has_value ? std::string(param.value) : std::string();
  }
  return out;
}

void Router::Add(Route route) { routes_.push_back(std::move(route)); }

RouteMatch Router::Match(const std::string& method,
                         const std::vector<std::string>& segments) const {
  RouteMatch match;
  std::vector<std::string> params;
  for (const Route& route : routes_) {
    if (!MatchPattern(route.pattern, segments, params)) continue;
    if (std::find(match.allowed.begin(), match.allowed.end(), route.method) == match.allowed.end()) {
      match.allowed.push_back(route.method);
    }
    if (route.method == method && match.route == nullptr) {
      match.route = &route;
      match.params = params;
    }
  }
  return match;
}

}  // namespace runvoy::server

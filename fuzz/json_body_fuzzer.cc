// The JSON body of every route. An input is one line naming a route as the router writes it
// ("POST /api/v1/run"; anything else picks a route by its hash), optionally followed by
// " as <role>", then the body. Placeholders are filled with things that exist (the seeded
// execution, image, secret, user), so that the body reaches the handler's validation and the
// services behind it. The body also goes through JsonBody's getters directly, for every field.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/json.hpp>

#include "api_fixture.h"
#include "server/json_body.h"

namespace {

using runvoy::fuzz::ApiFixture;

ApiFixture& Fixture() {
  static ApiFixture fixture;
  return fixture;
}

// The route's pattern with each {placeholder} replaced by an existing resource.
std::string FillPattern(const ApiFixture& fixture, const std::string& pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      out += pattern[i];
      continue;
    }
    const std::size_t end = pattern.find('}', i);
    const std::string name = pattern.substr(i + 1, end - i - 1);
    if (name == "id") {
      out += fixture.execution_id();
    } else if (name == "ref..." || name == "image_id...") {
      out += fixture.image_id();
    } else if (name == "name") {
      out += "db-password";
    } else if (name == "token") {
      out += fixture.claim_token();
    } else {
      out += "x";
    }
    i = end;
  }
  return out;
}

const char* KeyOf(const std::string& role) {
  if (role == "operator") return runvoy::fuzz::kOperatorKey;
  if (role == "developer") return runvoy::fuzz::kDeveloperKey;
  if (role == "viewer") return runvoy::fuzz::kViewerKey;
  return runvoy::fuzz::kAdminKey;
}

// Every getter on every field of the body, as the handlers may call them.
void ReadEveryField(const std::string& text) {
  auto body = runvoy::server::JsonBody::Parse(text);
  if (!body) return;
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) return;
  for (const auto& [key, field] : value.as_object()) {
    const std::string name(key);
    (void)field;
    (void)body->String(name.c_str());
    (void)body->Bool(name.c_str());
    (void)body->Integer(name.c_str());
    (void)body->StringList(name.c_str());
    (void)body->StringMap(name.c_str());
    (void)body->RequiredString(name.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& fixture = Fixture();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  std::string line = input.substr(0, newline);
  const std::string body = newline == std::string::npos ? std::string() : input.substr(newline + 1);
  std::string role = "admin";
  if (const auto as = line.find(" as "); as != std::string::npos) {
    role = line.substr(as + 4);
    line.resize(as);
  }
  const auto& routes = fixture.router().routes();
  const runvoy::server::Route* route = nullptr;
  for (const auto& candidate : routes) {
    if (candidate.method + " " + candidate.pattern == line) route = &candidate;
  }
  if (route == nullptr) route = &routes[std::hash<std::string>()(line) % routes.size()];

  ReadEveryField(body);
  runvoy::server::HttpRequest request;
  request.method = route->method;
  request.target = FillPattern(fixture, route->pattern);
  request.headers["x-api-key"] = KeyOf(role);
  request.headers["content-type"] = "application/json";
  request.body = body;
  fixture.Send(std::move(request));
  return 0;
}

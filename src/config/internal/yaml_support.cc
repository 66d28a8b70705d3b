#include "config/internal/yaml_support.h"

#include <fmt/format.h>

namespace runvoy::config::internal {

core::Result<YAML::Node> LoadYaml(const std::string& what, const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("{}, line {}: invalid YAML: {}", what, e.mark.line + 1, e.msg));
  } catch (const YAML::Exception& e) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("{}: invalid YAML: {}", what, e.msg));
  }
}

int LineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

core::Error ErrorAt(const std::string& what, const YAML::Node& node, const std::string& message) {
  const int line = LineOf(node);
  if (line == 0) {
    return core::Error{core::ErrorCode::kInvalidRequest, what + ": " + message, {}};
  }
  return core::Error{
      core::ErrorCode::kInvalidRequest, fmt::format("{}, line {}: {}", what, line, message), {}};
}

std::string KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a value";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "nothing";
}

std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace runvoy::config::internal

#include "config/internal/yaml_support.h"

#include <fmt/format.h>

namespace runvoy::config::internal {
namespace {

// The 1-based line of the first byte that is not part of valid UTF-8 or is a control character
// other than tab and line breaks, 0 when there is none. YAML streams are printable Unicode:
// yaml-cpp reads such bytes as they are, but writes them back differently (U+FFFD, escapes).
int FirstUnprintableLine(const std::string& text) {
  int line = 1;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n') ++line;
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return line;
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return line;
    }
    if (i + length > text.size()) return line;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return line;
    }
    i += length;
  }
  return 0;
}

// yaml-cpp's message with control characters escaped, so that an error stays on one line.
std::string OneLine(const std::string& message) {
  std::string out;
  for (const char c : message) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

core::Result<YAML::Node> LoadYaml(const std::string& what, const std::string& text) {
  if (const int line = FirstUnprintableLine(text); line != 0) {
    return core::Fail(
        core::ErrorCode::kInvalidRequest,
        fmt::format("{}, line {}: invalid YAML: not printable UTF-8 text", what, line));
  }
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return core::Fail(core::ErrorCode::kInvalidRequest, fmt::format("{}, line {}: invalid YAML: {}",
                                                                    what, e.mark.line + 1,
                                                                    OneLine(e.msg)));
  } catch (const YAML::Exception& e) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("{}: invalid YAML: {}", what, OneLine(e.msg)));
  }
}

int LineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

core::Error ErrorAt(const std::string& what, const YAML::Node& node, const std::string& message) {
  const int line = LineOf(node);
  if (line == 0) {
    return core::Error{core::ErrorCode::kInvalidRequest, what + ": " + OneLine(message), {}};
  }
  return core::Error{core::ErrorCode::kInvalidRequest,
                     fmt::format("{}, line {}: {}", what, line, OneLine(message)), {}};
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

#include "core/url_encoding.h"

#include <cctype>

namespace runvoy::core {
namespace {

std::string Encode(std::string_view text, std::string_view keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string UrlEncode(std::string_view text) {
  return Encode(text, "");
}

std::string UrlEncodePath(std::string_view text) {
  return Encode(text, "/:@");
}

}  // namespace runvoy::core

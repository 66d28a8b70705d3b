#include "core/byte_count.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <string>
#include <utility>

namespace runvoy::core {

std::optional<int64_t> ParseByteCount(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  int64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (digits == 0 || ec != std::errc() || end != text.data() + digits) {
    return std::nullopt;
  }
  std::string unit(text.substr(digits));
  unit.erase(0, unit.find_first_not_of(" \t"));
  unit.erase(unit.find_last_not_of(" \t") + 1);
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  constexpr std::array<std::pair<std::string_view, int64_t>, 11> kUnits = {{
      {"", 1},
      {"b", 1},
      {"k", 1LL << 10},
      {"kib", 1LL << 10},
      {"kb", 1000},
      {"m", 1LL << 20},
      {"mib", 1LL << 20},
      {"mb", 1000 * 1000},
      {"g", 1LL << 30},
      {"gib", 1LL << 30},
      {"gb", 1000 * 1000 * 1000},
  }};
  const auto* const it = std::find_if(kUnits.begin(), kUnits.end(),
                                      [&](const auto& entry) { return entry.first == unit; });
  if (it == kUnits.end() || number > std::numeric_limits<int64_t>::max() / it->second) {
    return std::nullopt;
  }
  return number * it->second;
}

}  // namespace runvoy::core

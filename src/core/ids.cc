#include "core/ids.h"

#include <cctype>
#include <cstdio>

namespace runvoy::core {

std::string FormatEventId(long long sequence) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%012lld", sequence);
  return buf;
}

long long ParseEventId(const std::string& text) {
  if (text.empty() || text.size() > 18) return -1;
  long long value = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace runvoy::core

#include "providers/output/scrubber.h"

#include <algorithm>
#include <cstring>

namespace runvoy::providers::output {

std::string Base64Encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                       (static_cast<unsigned char>(data[i + 1]) << 8) |
                       static_cast<unsigned char>(data[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    if (rest == 2)
      v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Scrubber::Scrubber(const std::vector<std::string>& values) {
  for (const auto& value : values) {
    if (value.empty())
      continue;
    needles_.push_back(value);
    std::string b64 = Base64Encode(value);
    needles_.push_back(b64);
    const size_t unpadded = b64.find_last_not_of('=') + 1;
    if (unpadded < b64.size())
      needles_.push_back(b64.substr(0, unpadded));
  }
  std::sort(needles_.begin(), needles_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  needles_.erase(std::unique(needles_.begin(), needles_.end()), needles_.end());
  for (const auto& needle : needles_)
    first_byte_[static_cast<unsigned char>(needle[0])] = true;
}

void Scrubber::Feed(std::string_view chunk, std::string& out) {
  if (needles_.empty()) {
    out.append(chunk);
    return;
  }
  held_.append(chunk);
  Scan(false, out);
}

void Scrubber::Finish(std::string& out) {
  if (needles_.empty())
    return;
  Scan(true, out);
}

void Scrubber::Scan(bool final, std::string& out) {
  const std::string_view data = held_;
  const size_t n = data.size();
  size_t copied = 0;  // data[0, copied) is already in out
  size_t i = 0;
  size_t keep_from = n;
  while (i < n) {
    if (!first_byte_[static_cast<unsigned char>(data[i])]) {
      ++i;
      continue;
    }
    const std::string_view rest = data.substr(i);
    size_t match_len = 0;
    bool maybe = false;
    for (const auto& needle : needles_) {
      if (rest.size() >= needle.size()) {
        if (match_len == 0 && rest.compare(0, needle.size(), needle) == 0) {
          match_len = needle.size();
        }
      } else if (!final && needle.compare(0, rest.size(), rest) == 0) {
        // A longer needle might still match once more bytes arrive: wait for them, so the
        // longest match wins.
        maybe = true;
        break;
      }
    }
    if (maybe) {
      keep_from = i;
      break;
    }
    if (match_len > 0) {
      out.append(data.substr(copied, i - copied));
      out.append(kMask);
      i += match_len;
      copied = i;
      continue;
    }
    ++i;
  }
  out.append(data.substr(copied, keep_from - copied));
  held_.erase(0, keep_from);
}

}  // namespace runvoy::providers::output

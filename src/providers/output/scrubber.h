#pragma once

// Streaming replacement of secret values in command output (SPEC.md §2.6 "Scrubbing"): every
// value and its standard base64 forms (padded and unpadded) become "***", also when an occurrence
// is split across chunks. At most (longest needle - 1) bytes are held back between chunks.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace runvoy::providers::output {

// The standard base64 encoding (RFC 4648 §4) of `data`, with padding.
std::string Base64Encode(std::string_view data);

// Not thread-safe; one per stream.
class Scrubber {
 public:
  static constexpr std::string_view kMask = "***";

  // Empty values are ignored. With no values the scrubber passes bytes through unchanged.
  explicit Scrubber(const std::vector<std::string>& values);

  // Consumes `chunk` and appends the output that is certain to `out`.
  void Feed(std::string_view chunk, std::string& out);
  // End of the stream: appends what was held back.
  void Finish(std::string& out);

  bool empty() const { return needles_.empty(); }
  size_t held_back() const { return held_.size(); }

 private:
  // Scans held_; replaces complete matches; keeps an unfinished possible match at the end when
  // `final` is false.
  void Scan(bool final, std::string& out);

  std::vector<std::string> needles_;  // longest first, so the longest match wins
  std::array<bool, 256> first_byte_{};
  std::string held_;
};

}  // namespace runvoy::providers::output

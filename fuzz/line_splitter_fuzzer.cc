// The providers' line splitter (providers/output), fed random bytes in random chunks with a
// random piece limit. Checks the documented contract against an independent reference built
// from the whole input: invalid UTF-8 becomes one U+FFFD per maximal ill-formed subpart (Unicode
// §3.9), lines end at '\n' (a last line without one is kept), each line is cut into the longest
// pieces of at most the limit without splitting a character, `partial` on all but a line's last
// piece. So the output reassembles to the repaired input and does not depend on the chunking.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "providers/output/line_splitter.h"

namespace {

using runvoy::providers::output::LinePiece;
using runvoy::providers::output::LineSplitter;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Splits `input` into characters of valid UTF-8, each ill-formed subpart replaced (Unicode Table
// 3-7 of well-formed byte sequences).
std::vector<std::string> Characters(std::string_view input) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < input.size()) {
    const auto b0 = static_cast<unsigned char>(input[i]);
    std::size_t need = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b0 <= 0x7F) {
      out.emplace_back(1, input[i]);
      ++i;
      continue;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      need = 1;
    } else if (b0 == 0xE0) {
      need = 2, lo = 0xA0;
    } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
      need = 2;
    } else if (b0 == 0xED) {
      need = 2, hi = 0x9F;
    } else if (b0 == 0xF0) {
      need = 3, lo = 0x90;
    } else if (b0 >= 0xF1 && b0 <= 0xF3) {
      need = 3;
    } else if (b0 == 0xF4) {
      need = 3, hi = 0x8F;
    } else {
      out.emplace_back(kReplacement);
      ++i;
      continue;
    }
    std::size_t got = 1;
    bool ok = true;
    while (got <= need) {
      if (i + got >= input.size()) {
        ok = false;
        break;
      }
      const auto b = static_cast<unsigned char>(input[i + got]);
      const bool valid = got == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
      if (!valid) {
        ok = false;
        break;
      }
      ++got;
    }
    if (ok) {
      out.emplace_back(input.substr(i, need + 1));
      i += need + 1;
    } else {
      out.emplace_back(kReplacement);
      i += got;  // the maximal subpart; the byte that broke it is looked at afresh
    }
  }
  return out;
}

std::vector<LinePiece> Reference(std::string_view input, std::size_t max_piece) {
  std::vector<LinePiece> out;
  std::string current;
  bool open = false;
  for (const std::string& c : Characters(input)) {
    if (c == "\n") {
      out.push_back({current, false});
      current.clear();
      open = false;
      continue;
    }
    if (current.size() + c.size() > max_piece) {
      out.push_back({current, true});
      current.clear();
    }
    current += c;
    open = true;
  }
  if (open) out.push_back({current, false});
  return out;
}

[[noreturn]] void Fail(const char* what, std::size_t index) {
  std::fprintf(stderr, "line splitter: %s (piece %zu)\n", what, index);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  const bool default_limit = provider.ConsumeBool();
  const std::size_t asked = provider.ConsumeIntegralInRange<std::size_t>(0, 40);
  const std::size_t max_piece = default_limit ? LineSplitter::kDefaultMaxPiece : asked;
  std::vector<std::size_t> chunk_sizes;
  for (int i = provider.ConsumeIntegralInRange(0, 8); i > 0; --i) {
    chunk_sizes.push_back(provider.ConsumeIntegralInRange<std::size_t>(1, 64));
  }
  const std::string input = provider.ConsumeRemainingBytesAsString();

  LineSplitter splitter(max_piece);
  std::vector<LinePiece> pieces;
  std::size_t at = 0;
  for (std::size_t n = 0; at < input.size(); ++n) {
    const std::size_t take =
        chunk_sizes.empty() ? input.size() : chunk_sizes[n % chunk_sizes.size()];
    splitter.Feed(std::string_view(input).substr(at, take), pieces);
    at += take;
  }
  splitter.Finish(pieces);

  const std::size_t limit = max_piece < 4 ? 4 : max_piece;
  const std::vector<LinePiece> expected = Reference(input, limit);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].message.size() > limit) Fail("piece over the limit", i);
    if (pieces[i].message.find('\n') != std::string::npos) Fail("newline in a piece", i);
    if (pieces[i].partial && pieces[i].message.empty()) Fail("empty partial piece", i);
  }
  if (pieces.size() != expected.size()) Fail("piece count differs from the reference", 0);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].message != expected[i].message) Fail("piece differs from the reference", i);
    if (pieces[i].partial != expected[i].partial) Fail("partial flag differs", i);
  }
  return 0;
}

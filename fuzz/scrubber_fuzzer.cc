// The providers' secret scrubber (providers/output), fed random output in random chunks with up
// to four random secret values. Checks: the output equals an independent whole-input reference
// (at each position the longest value or base64 form that starts there becomes "***"), so it
// does not depend on the chunking; no value or base64 form that was present whole in the input
// is emitted (forms containing '*' excepted: the mask itself may spell them); at most (longest
// form - 1) bytes are held back between chunks.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "providers/output/scrubber.h"

namespace {

using runvoy::providers::output::Scrubber;

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (unsigned char c : data) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(kAlphabet[(bits >> count) & 63]);
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 63]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

std::vector<std::string> Forms(const std::vector<std::string>& values) {
  std::set<std::string> forms;
  for (const std::string& value : values) {
    if (value.empty()) continue;
    forms.insert(value);
    const std::string padded = Base64(value);
    forms.insert(padded);
    forms.insert(padded.substr(0, padded.find('=')));
  }
  return {forms.begin(), forms.end()};
}

std::string Reference(const std::string& input, const std::vector<std::string>& forms) {
  std::string out;
  std::size_t i = 0;
  while (i < input.size()) {
    std::size_t longest = 0;
    for (const std::string& form : forms) {
      if (form.size() > longest && input.compare(i, form.size(), form) == 0) longest = form.size();
    }
    if (longest > 0) {
      out += Scrubber::kMask;
      i += longest;
    } else {
      out += input[i++];
    }
  }
  return out;
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "scrubber: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  std::vector<std::string> values;
  for (int i = provider.ConsumeIntegralInRange(1, 4); i > 0; --i) {
    values.push_back(provider.ConsumeRandomLengthString(24));
  }
  std::vector<std::size_t> chunk_sizes;
  for (int i = provider.ConsumeIntegralInRange(0, 8); i > 0; --i) {
    chunk_sizes.push_back(provider.ConsumeIntegralInRange<std::size_t>(1, 64));
  }
  const std::string input = provider.ConsumeRemainingBytesAsString();

  const std::vector<std::string> forms = Forms(values);
  std::size_t longest = 0;
  for (const std::string& form : forms) longest = std::max(longest, form.size());

  Scrubber scrubber(values);
  if (scrubber.empty() != forms.empty()) Fail("empty() disagrees with the values");
  std::string output;
  std::size_t at = 0;
  for (std::size_t n = 0; at < input.size(); ++n) {
    const std::size_t take =
        chunk_sizes.empty() ? input.size() : chunk_sizes[n % chunk_sizes.size()];
    scrubber.Feed(std::string_view(input).substr(at, take), output);
    at += take;
    if (longest > 0 && scrubber.held_back() > longest - 1) Fail("held back too much");
  }
  scrubber.Finish(output);
  if (scrubber.held_back() != 0) Fail("bytes held back after Finish");

  if (output != Reference(input, forms)) Fail("output differs from the reference");
  for (const std::string& form : forms) {
    if (form.find('*') != std::string::npos) continue;
    if (input.find(form) != std::string::npos && output.find(form) != std::string::npos) {
      Fail("a secret form present in the input was emitted");
    }
  }
  return 0;
}

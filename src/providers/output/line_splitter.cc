#include "providers/output/line_splitter.h"

#include <cstring>

namespace runvoy::providers::output {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// The length of the sequence a lead byte starts, 0 when it cannot start one.
size_t SequenceLength(unsigned char c) {
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return 2;
  if (c >= 0xE0 && c <= 0xEF)
    return 3;
  if (c >= 0xF0 && c <= 0xF4)
    return 4;
  return 0;
}

// Whether `c` may be the byte at `index` (>= 1) of a sequence whose lead byte is `lead`:
// rejects overlong forms, surrogates and code points above U+10FFFF early.
bool ValidContinuation(unsigned char lead, size_t index, unsigned char c) {
  if ((c & 0xC0) != 0x80)
    return false;
  if (index != 1)
    return true;
  if (lead == 0xE0)
    return c >= 0xA0;
  if (lead == 0xED)
    return c <= 0x9F;
  if (lead == 0xF0)
    return c >= 0x90;
  if (lead == 0xF4)
    return c <= 0x8F;
  return true;
}

}  // namespace

LineSplitter::LineSplitter(size_t max_piece) : max_piece_(max_piece < 4 ? 4 : max_piece) {}

void LineSplitter::AppendChar(std::string_view utf8, std::vector<LinePiece>& out) {
  if (current_.size() + utf8.size() > max_piece_) {
    out.push_back(LinePiece{std::move(current_), true});
    current_.clear();
  }
  current_.append(utf8);
  line_open_ = true;
}

void LineSplitter::AppendReplacement(std::vector<LinePiece>& out) {
  AppendChar(kReplacement, out);
}

void LineSplitter::EndLine(std::vector<LinePiece>& out) {
  out.push_back(LinePiece{std::move(current_), false});
  current_.clear();
  line_open_ = false;
}

void LineSplitter::Feed(std::string_view bytes, std::vector<LinePiece>& out) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (pending_len_ > 0) {
      if (ValidContinuation(static_cast<unsigned char>(pending_[0]), pending_len_, c)) {
        pending_[pending_len_++] = static_cast<char>(c);
        ++i;
        if (pending_len_ == pending_need_) {
          AppendChar(std::string_view(pending_, pending_len_), out);
          pending_len_ = 0;
        }
        continue;
      }
      // The sequence broke off: one replacement for it, then look at `c` afresh.
      pending_len_ = 0;
      AppendReplacement(out);
      continue;
    }
    if (c == '\n') {
      EndLine(out);
      ++i;
      continue;
    }
    if (c < 0x80) {
      // Fast path: a run of ASCII without newline, appended in bulk up to the piece limit.
      size_t j = i;
      while (j < n && static_cast<unsigned char>(bytes[j]) < 0x80 && bytes[j] != '\n')
        ++j;
      while (i < j) {
        if (current_.size() >= max_piece_) {
          out.push_back(LinePiece{std::move(current_), true});
          current_.clear();
        }
        const size_t take = std::min(j - i, max_piece_ - current_.size());
        current_.append(bytes.data() + i, take);
        line_open_ = true;
        i += take;
      }
      continue;
    }
    const size_t len = SequenceLength(c);
    ++i;
    if (len == 0) {
      AppendReplacement(out);
      continue;
    }
    pending_[0] = static_cast<char>(c);
    pending_len_ = 1;
    pending_need_ = len;
  }
}

void LineSplitter::Finish(std::vector<LinePiece>& out) {
  if (pending_len_ > 0) {
    pending_len_ = 0;
    AppendReplacement(out);
  }
  if (line_open_)
    EndLine(out);
}

}  // namespace runvoy::providers::output

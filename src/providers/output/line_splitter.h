#pragma once

// Turns the raw bytes of one output stream into log lines (SPEC.md §2.3 "Log event"): one
// event per line without its newline, lines longer than the piece limit split into pieces with
// `partial` set on all but the last, invalid UTF-8 replaced by U+FFFD (never dropped), and a last
// line without a newline kept.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace runvoy::providers::output {

// One line or piece of a line, before it gets a sequence and a timestamp.
struct LinePiece {
  std::string message;  // valid UTF-8, at most the piece limit in bytes
  bool partial = false;
};

// Not thread-safe; one per stream.
class LineSplitter {
 public:
  static constexpr size_t kDefaultMaxPiece = 16 * 1024;

  explicit LineSplitter(size_t max_piece = kDefaultMaxPiece);

  // Consumes `bytes` (any chunking) and appends the complete lines and pieces to `out`.
  void Feed(std::string_view bytes, std::vector<LinePiece>& out);
  // End of the stream: appends the last line if it had no newline.
  void Finish(std::vector<LinePiece>& out);

 private:
  void AppendChar(std::string_view utf8, std::vector<LinePiece>& out);
  void AppendReplacement(std::vector<LinePiece>& out);
  void EndLine(std::vector<LinePiece>& out);

  size_t max_piece_;
  std::string current_;     // the line so far (repaired UTF-8)
  bool line_open_ = false;  // bytes of the current line were seen (distinguishes "" from none)
  // An incomplete multi-byte sequence waiting for its continuation bytes.
  char pending_[4] = {};
  size_t pending_len_ = 0;
  size_t pending_need_ = 0;  // total length of the sequence in pending_
};

}  // namespace runvoy::providers::output

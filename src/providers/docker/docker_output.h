#pragma once

// How a container's output becomes log events. The Engine API multiplexes stdout and stderr
// into frames (8-byte header: stream, 0, 0, 0, big-endian u32 length; then the bytes); the
// frames do not line up with HTTP chunks. With timestamps=1 each frame is one log message
// prefixed by its RFC 3339 time and a space.
//
// OutputPipeline turns the frames into events deterministically: the same prefix lines and
// the same frames give the same events with the same sequences, which is what lets the
// provider re-read a container's log from the start (after a server or daemon restart) and
// skip what it delivered before.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/records.h"
#include "providers/output/line_splitter.h"
#include "providers/output/scrubber.h"

namespace runvoy::providers::docker {

// Incremental decoder of the multiplexed stream. Not thread-safe.
class FrameDecoder {
 public:
  // `stream`: 1 stdout, 2 stderr (0 stdin is reported as stdout).
  using OnFrame = std::function<void(int stream, std::string_view payload)>;

  // Consumes `bytes` (any chunking) and calls `on_frame` for each complete frame.
  void Feed(std::string_view bytes, const OnFrame& on_frame);
  // Bytes of an unfinished frame.
  size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

// Splits "<RFC 3339 time> <message>" into the time (Unix ms) and the message; nullopt time
// when the prefix is not a time (then the whole payload is the message).
std::optional<int64_t> SplitTimestamp(std::string_view payload, std::string_view& message);

// Scrubs, splits into lines and numbers one task's output. Not thread-safe.
class OutputPipeline {
 public:
  // `secrets`: values to replace by "***"; `cap`: bytes of stdout+stderr kept, then a notice.
  OutputPipeline(const std::vector<std::string>& secrets, int64_t cap);

  // A line of runvoy's own (stream "runvoy"), scrubbed too.
  void AddRunvoyLine(const std::string& line, int64_t timestamp_ms,
                     std::vector<core::LogEvent>& out);
  // One frame of the logs stream (timestamps=1); `now_ms` when it carries no time.
  void AddFrame(int stream, std::string_view payload, int64_t now_ms,
                std::vector<core::LogEvent>& out);
  // End of the output: the held-back bytes and last lines without a newline.
  void Finish(int64_t timestamp_ms, std::vector<core::LogEvent>& out);

  int64_t last_sequence() const { return next_sequence_ - 1; }

 private:
  struct Stream {
    core::LogStream stream;
    output::Scrubber scrubber;
    output::LineSplitter splitter;
    int64_t last_ms = 0;
  };
  void Emit(core::LogStream stream, std::string message, bool partial, int64_t timestamp_ms,
            std::vector<core::LogEvent>& out);
  void EmitPieces(Stream& s, std::vector<output::LinePiece>& pieces,
                  std::vector<core::LogEvent>& out);

  std::vector<std::string> secrets_;
  int64_t cap_;
  int64_t output_bytes_ = 0;
  bool capped_ = false;
  int64_t next_sequence_ = 1;
  Stream stdout_;
  Stream stderr_;
};

}  // namespace runvoy::providers::docker

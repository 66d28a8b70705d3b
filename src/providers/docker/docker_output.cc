#include "providers/docker/docker_output.h"

#include <cstring>

#include "core/time.h"

namespace runvoy::providers::docker {

void FrameDecoder::Feed(std::string_view bytes, const OnFrame& on_frame) {
  buffer_.append(bytes.data(), bytes.size());
  size_t offset = 0;
  while (buffer_.size() - offset >= 8) {
    const auto* header = reinterpret_cast<const unsigned char*>(buffer_.data() + offset);
    const uint32_t length = (uint32_t{header[4]} << 24) | (uint32_t{header[5]} << 16) |
                            (uint32_t{header[6]} << 8) | uint32_t{header[7]};
    if (buffer_.size() - offset - 8 < length)
      break;
    const int stream = header[0] == 2 ? 2 : 1;
    on_frame(stream, std::string_view(buffer_.data() + offset + 8, length));
    offset += 8 + length;
  }
  buffer_.erase(0, offset);
}

std::optional<int64_t> SplitTimestamp(std::string_view payload, std::string_view& message) {
  message = payload;
  const size_t space = payload.find(' ');
  // "2026-11-30T07:34:26.948504008Z" is 30 characters; allow other precisions.
  if (space == std::string_view::npos || space < 20 || space > 40)
    return std::nullopt;
  auto time = core::ParseRfc3339(payload.substr(0, space));
  if (!time)
    return std::nullopt;
  message = payload.substr(space + 1);
  return core::ToUnixMillis(*time);
}

OutputPipeline::OutputPipeline(const std::vector<std::string>& secrets, int64_t cap)
    : secrets_(secrets),
      cap_(cap),
      stdout_{core::LogStream::kStdout, output::Scrubber(secrets), output::LineSplitter(), 0},
      stderr_{core::LogStream::kStderr, output::Scrubber(secrets), output::LineSplitter(), 0} {}

void OutputPipeline::Emit(core::LogStream stream, std::string message, bool partial,
                          int64_t timestamp_ms, std::vector<core::LogEvent>& out) {
  if (stream != core::LogStream::kRunvoy) {
    if (capped_)
      return;
    if (output_bytes_ + static_cast<int64_t>(message.size()) > cap_) {
      capped_ = true;
      Emit(core::LogStream::kRunvoy,
           "output limit of " + std::to_string(cap_) + " bytes reached; further output is dropped",
           false, timestamp_ms, out);
      return;
    }
    output_bytes_ += static_cast<int64_t>(message.size());
  }
  core::LogEvent event;
  event.sequence = next_sequence_++;
  event.timestamp_ms = timestamp_ms;
  event.stream = stream;
  event.message = std::move(message);
  event.partial = partial;
  out.push_back(std::move(event));
}

void OutputPipeline::EmitPieces(Stream& s, std::vector<output::LinePiece>& pieces,
                                std::vector<core::LogEvent>& out) {
  for (auto& piece : pieces)
    Emit(s.stream, std::move(piece.message), piece.partial, s.last_ms, out);
  pieces.clear();
}

void OutputPipeline::AddRunvoyLine(const std::string& line, int64_t timestamp_ms,
                                   std::vector<core::LogEvent>& out) {
  output::Scrubber scrubber(secrets_);
  std::string clean;
  scrubber.Feed(line, clean);
  scrubber.Finish(clean);
  output::LineSplitter splitter;
  std::vector<output::LinePiece> pieces;
  splitter.Feed(clean, pieces);
  splitter.Finish(pieces);
  if (pieces.empty())
    pieces.push_back(output::LinePiece{});
  for (auto& piece : pieces)
    Emit(core::LogStream::kRunvoy, std::move(piece.message), piece.partial, timestamp_ms, out);
}

void OutputPipeline::AddFrame(int stream, std::string_view payload, int64_t now_ms,
                              std::vector<core::LogEvent>& out) {
  Stream& s = stream == 2 ? stderr_ : stdout_;
  std::string_view message;
  s.last_ms = SplitTimestamp(payload, message).value_or(now_ms);
  std::string clean;
  s.scrubber.Feed(message, clean);
  std::vector<output::LinePiece> pieces;
  s.splitter.Feed(clean, pieces);
  EmitPieces(s, pieces, out);
}

void OutputPipeline::Finish(int64_t timestamp_ms, std::vector<core::LogEvent>& out) {
  for (Stream* s : {&stdout_, &stderr_}) {
    std::string clean;
    s->scrubber.Finish(clean);
    std::vector<output::LinePiece> pieces;
    s->splitter.Feed(clean, pieces);
    s->splitter.Finish(pieces);
    if (s->last_ms == 0)
      s->last_ms = timestamp_ms;
    EmitPieces(*s, pieces, out);
  }
}

}  // namespace runvoy::providers::docker

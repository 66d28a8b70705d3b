#include "server/websocket_frames.h"

#include <cstddef>

namespace runvoy::server {
namespace {

constexpr unsigned char kFinal = 0x80;
constexpr unsigned char kTextOpcode = 0x1;
constexpr unsigned char kCloseOpcode = 0x8;
// Payload lengths up to 125 fit the header's second byte; 126 and 127 announce a 16-bit or a
// 64-bit length after it.
constexpr std::size_t kLargestInlineLength = 125;
constexpr unsigned char k16BitLength = 126;
constexpr unsigned char k64BitLength = 127;

void AppendByte(std::string& out, uint64_t value) {
  out.push_back(static_cast<char>(value & 0xFF));
}

void AppendHeader(std::string& out, unsigned char opcode, std::size_t length) {
  AppendByte(out, kFinal | opcode);
  if (length <= kLargestInlineLength) {
    AppendByte(out, length);
  } else if (length <= 0xFFFF) {
    AppendByte(out, k16BitLength);
    AppendByte(out, length >> 8);
    AppendByte(out, length);
  } else {
    AppendByte(out, k64BitLength);
    for (int shift = 56; shift >= 0; shift -= 8) {
      AppendByte(out, static_cast<uint64_t>(length) >> shift);
    }
  }
}

}  // namespace

void AppendTextFrame(std::string& out, std::string_view payload) {
  AppendHeader(out, kTextOpcode, payload.size());
  out.append(payload);
}

void AppendCloseFrame(std::string& out, uint16_t code) {
  AppendHeader(out, kCloseOpcode, 2);
  AppendByte(out, code >> 8);
  AppendByte(out, code);
}

}  // namespace runvoy::server

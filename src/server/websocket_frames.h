#pragma once

// Internal to the live-log follower: WebSocket frames as a server writes them (RFC 6455 §5.2:
// final, unmasked), for the frames the follower writes itself rather than through Beast
// (exclusive_write_stream.h says why).

#include <cstdint>
#include <string>
#include <string_view>

namespace runvoy::server {

// Appends `payload` to `out` as one text frame.
void AppendTextFrame(std::string& out, std::string_view payload);

// Appends a close frame carrying `code` and no reason.
void AppendCloseFrame(std::string& out, uint16_t code);

}  // namespace runvoy::server

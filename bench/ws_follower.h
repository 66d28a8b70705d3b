#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace runvoy::bench {

// Follows one execution's WebSocket (ws:// on loopback) until the disconnect frame. `on_frame`
// gets each text frame; returning false stops early.
void FollowWebSocket(const std::string& url, const std::function<bool(const std::string&)>& on_frame);

}  // namespace runvoy::bench

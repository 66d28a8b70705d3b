#pragma once

#include <string>

#include "server/http_message.h"

namespace runvoy::server {

// The web viewer's embedded files: GET/HEAD of an asset, or index.html for the viewer's own
// pages (/, /logs, /settings, /claim); 404 otherwise. Pages carry a strict
// Content-Security-Policy (no inline script or style).
HttpResponse ServeViewer(const std::string& method, const std::string& path);

}  // namespace runvoy::server

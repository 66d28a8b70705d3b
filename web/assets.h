#ifndef RUNVOY_WEB_ASSETS_H_
#define RUNVOY_WEB_ASSETS_H_

#include <string_view>

namespace runvoy::web {

// One file of the built-in web viewer, embedded in the binary at build time from web/.
struct Asset {
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes
  std::string_view etag;          // a quoted strong ETag, e.g. "\"0123456789abcdef\""
};

// Returns the asset served at `path` ("/index.html", "/assets/app.js"; "/" is the same as
// "/index.html"), or nullptr when there is none. The query string must already be removed.
// Routes of the viewer (/logs, /settings, /claim) are not assets: the server answers them
// with "/index.html" (SPA fallback). Thread-safe; the data lives for the whole program.
const Asset* FindAsset(std::string_view path);

}  // namespace runvoy::web

#endif  // RUNVOY_WEB_ASSETS_H_

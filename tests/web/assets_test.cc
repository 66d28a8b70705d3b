#include "web/assets.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace runvoy::web {
namespace {

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(RUNVOY_WEB_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(WebAssets, IndexIsServedAsHtmlWithTheFileBytes) {
  const Asset* index = FindAsset("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index->body, ReadSourceFile("index.html"));
  EXPECT_NE(index->body.find("/assets/app.js"), std::string_view::npos);
}

TEST(WebAssets, RootIsTheSameAsIndex) {
  EXPECT_EQ(FindAsset("/"), FindAsset("/index.html"));
}

TEST(WebAssets, ScriptsAndStylesHaveTheirTypesAndExactBytes) {
  for (const char* name : {"app.js", "api.js", "ansi.js", "dom.js", "executions.js", "logs.js",
                           "logview.js", "settings.js"}) {
    const Asset* js = FindAsset(std::string("/assets/") + name);
    ASSERT_NE(js, nullptr) << name;
    EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8") << name;
    EXPECT_EQ(js->body, ReadSourceFile(std::string("assets/") + name)) << name;
  }
  const Asset* css = FindAsset("/assets/app.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(css->body, ReadSourceFile("assets/app.css"));
}

TEST(WebAssets, EtagsAreQuotedAndDifferPerFile) {
  const Asset* a = FindAsset("/assets/app.js");
  const Asset* b = FindAsset("/assets/app.css");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(a->etag.size(), 18u);
  EXPECT_EQ(a->etag.front(), '"');
  EXPECT_EQ(a->etag.back(), '"');
  EXPECT_NE(a->etag, b->etag);
}

TEST(WebAssets, UnknownPathsAndViewerRoutesAreNotAssets) {
  EXPECT_EQ(FindAsset(""), nullptr);
  EXPECT_EQ(FindAsset("/logs"), nullptr);
  EXPECT_EQ(FindAsset("/assets/missing.js"), nullptr);
  EXPECT_EQ(FindAsset("/assets/../index.html"), nullptr);
  EXPECT_EQ(FindAsset("index.html"), nullptr);
}

TEST(WebAssets, PagesCarryNoInlineScriptsOrStyles) {
  const Asset* index = FindAsset("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->body.find("style="), std::string_view::npos);
  EXPECT_EQ(index->body.find("<style"), std::string_view::npos);
  // No event handler attributes (onclick=, onload=, ...).
  const std::string_view body = index->body;
  for (size_t at = body.find(" on"); at != std::string_view::npos; at = body.find(" on", at + 1)) {
    size_t end = at + 3;
    while (end < body.size() && body[end] >= 'a' && body[end] <= 'z') ++end;
    EXPECT_FALSE(end < body.size() && body[end] == '=') << body.substr(at, end - at + 1);
  }
  // Every <script> has a src: count tags and srcs.
  size_t scripts = 0;
  size_t with_src = 0;
  for (size_t at = index->body.find("<script"); at != std::string_view::npos;
       at = index->body.find("<script", at + 1)) {
    ++scripts;
    const size_t end = index->body.find('>', at);
    if (index->body.substr(at, end - at).find(" src=") != std::string_view::npos) ++with_src;
  }
  EXPECT_GT(scripts, 0u);
  EXPECT_EQ(scripts, with_src);
}

}  // namespace
}  // namespace runvoy::web

#include "contract/notifier.h"

#include <charconv>
#include <string_view>
#include <vector>

namespace runvoy::contract {
namespace {

// Fields are separated by tabs, which no id, node name or reason contains.
constexpr char kSeparator = '\t';

char KindLetter(Notice::Kind kind) {
  switch (kind) {
    case Notice::Kind::kNewEvents: return 'E';
    case Notice::Kind::kEnded: return 'D';
    case Notice::Kind::kKill: return 'K';
  }
  return 'E';
}

std::vector<std::string_view> Split(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = text.find(kSeparator, start);
    fields.push_back(text.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

bool ParseNumber(std::string_view text, int64_t& number) {
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), number);
  return !text.empty() && parsed.ec == std::errc() && parsed.ptr == text.data() + text.size();
}

core::Error Malformed(const std::string& text) {
  return {core::ErrorCode::kInvalidRequest, "malformed notice: " + text.substr(0, 80)};
}

}  // namespace

std::string EncodeNotice(const Notice& notice) {
  std::string text(1, KindLetter(notice.kind));
  for (const std::string* field : {&notice.execution_id, &notice.node}) {
    text += kSeparator;
    text += *field;
  }
  for (const int64_t number : {notice.first_sequence, notice.sequence}) {
    text += kSeparator;
    text += std::to_string(number);
  }
  text += kSeparator;
  text += notice.detail;
  return text;
}

Result<Notice> DecodeNotice(const std::string& text) {
  const std::vector<std::string_view> fields = Split(text);
  if (fields.size() != 6 || fields[0].size() != 1) return tl::unexpected(Malformed(text));
  Notice notice;
  switch (fields[0][0]) {
    case 'E': notice.kind = Notice::Kind::kNewEvents; break;
    case 'D': notice.kind = Notice::Kind::kEnded; break;
    case 'K': notice.kind = Notice::Kind::kKill; break;
    default: return tl::unexpected(Malformed(text));
  }
  notice.execution_id = std::string(fields[1]);
  notice.node = std::string(fields[2]);
  if (!ParseNumber(fields[3], notice.first_sequence) ||
      !ParseNumber(fields[4], notice.sequence)) {
    return tl::unexpected(Malformed(text));
  }
  notice.detail = std::string(fields[5]);
  return notice;
}

}  // namespace runvoy::contract

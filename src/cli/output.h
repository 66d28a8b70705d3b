#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace runvoy::cli {

enum class OutputFormat { kText, kJson };

// ANSI styling that turns into plain text when colour is off.
class Style {
 public:
  explicit Style(bool color) : color_(color) {}
  bool color() const { return color_; }
  std::string Bold(std::string_view text) const { return Wrap("1", text); }
  std::string Dim(std::string_view text) const { return Wrap("2", text); }
  std::string Red(std::string_view text) const { return Wrap("31", text); }
  std::string Green(std::string_view text) const { return Wrap("32", text); }
  std::string Yellow(std::string_view text) const { return Wrap("33", text); }

 private:
  std::string Wrap(std::string_view code, std::string_view text) const;
  bool color_;
};

// Display width of UTF-8 text: one column per code point.
size_t DisplayWidth(std::string_view text);

// `text` cut to `max_width` columns with "…" at the end when it was longer; newlines become
// spaces.
std::string Abbreviate(std::string_view text, size_t max_width);

// A table: the header row (bold when colour is on), then the rows, columns separated by two
// spaces and padded to the widest cell. An empty table prints the header only.
void PrintTable(std::ostream& out, const Style& style, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);

// "key: value" lines with the keys aligned.
void PrintRecord(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);

// A JSON value as a table cell: strings unquoted, null or missing as "-", arrays of scalars
// joined with ", ", other values as compact JSON.
std::string CellText(const boost::json::value* value);
// CellText of object[key] (missing when `object` is not an object).
std::string Field(const boost::json::value& object, std::string_view key);

// runvoy's own one-line messages, on stderr.
void PrintSuccess(std::ostream& err, const Style& style, std::string_view message);
void PrintFailure(std::ostream& err, const Style& style, std::string_view message);
void PrintInfo(std::ostream& err, const Style& style, std::string_view message);

}  // namespace runvoy::cli

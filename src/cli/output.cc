#include "cli/output.h"

#include <algorithm>

#include <boost/json/serialize.hpp>

namespace runvoy::cli {

namespace json = boost::json;

std::string Style::Wrap(std::string_view code, std::string_view text) const {
  if (!color_) {
    return std::string(text);
  }
  return "\x1b[" + std::string(code) + "m" + std::string(text) + "\x1b[0m";
}

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) {
      ++width;
    }
  }
  return width;
}

std::string Abbreviate(std::string_view text, size_t max_width) {
  std::string flat(text);
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  std::replace(flat.begin(), flat.end(), '\r', ' ');
  std::replace(flat.begin(), flat.end(), '\t', ' ');
  if (DisplayWidth(flat) <= max_width || max_width == 0) {
    return flat;
  }
  std::string out;
  size_t width = 0;
  for (size_t i = 0; i < flat.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(flat[i]);
    if ((c & 0xC0) != 0x80) {
      if (width + 1 >= max_width) {
        break;
      }
      ++width;
    }
    out += flat[i];
  }
  return out + "…";
}

void PrintTable(std::ostream& out, const Style& style, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(headers.size(), 0);
  for (size_t i = 0; i < headers.size(); ++i) {
    widths[i] = DisplayWidth(headers[i]);
  }
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells, bool header) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      std::string padded = cell;
      if (i + 1 < widths.size()) {
        padded += std::string(widths[i] - DisplayWidth(cell) + 2, ' ');
      }
      line += header ? style.Bold(padded) : padded;
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out << line << "\n";
  };
  print_row(headers, true);
  for (const auto& row : rows) {
    print_row(row, false);
  }
}

void PrintRecord(std::ostream& out,
                 const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) {
    width = std::max(width, DisplayWidth(key));
  }
  for (const auto& [key, value] : fields) {
    out << key << ":" << std::string(width - DisplayWidth(key) + 1, ' ') << value << "\n";
  }
}

std::string CellText(const json::value* value) {
  if (value == nullptr || value->is_null()) {
    return "-";
  }
  if (value->is_string()) {
    return std::string(value->as_string());
  }
  if (value->is_bool()) {
    return value->as_bool() ? "true" : "false";
  }
  if (value->is_array()) {
    std::string joined;
    for (const json::value& item : value->as_array()) {
      if (item.is_object() || item.is_array()) {
        return json::serialize(*value);
      }
      if (!joined.empty()) {
        joined += ", ";
      }
      joined += CellText(&item);
    }
    return joined.empty() ? "-" : joined;
  }
  return json::serialize(*value);
}

std::string Field(const json::value& object, std::string_view key) {
  if (!object.is_object()) {
    return "-";
  }
  return CellText(object.as_object().if_contains(key));
}

void PrintSuccess(std::ostream& err, const Style& style, std::string_view message) {
  err << style.Green("✓") << " " << message << "\n";
}

void PrintFailure(std::ostream& err, const Style& style, std::string_view message) {
  err << style.Red("✗") << " " << message << "\n";
}

void PrintInfo(std::ostream& err, const Style& style, std::string_view message) {
  err << style.Dim("→") << " " << message << "\n";
}

}  // namespace runvoy::cli

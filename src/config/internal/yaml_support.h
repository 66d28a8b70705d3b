#pragma once

// yaml-cpp helpers shared by the parsers of this module. yaml-cpp appears only in
// src/config/, and only in .cc files and this internal header.

#include <string>

#include <yaml-cpp/yaml.h>

#include "core/error.h"

namespace runvoy::config::internal {

// Parses `text` as one YAML document. A syntax error becomes kInvalidRequest
// "<what>, line N: <yaml-cpp's message>" (on one line), and so does text that is not printable
// UTF-8 (invalid UTF-8, control characters other than tab and line breaks). Never throws.
core::Result<YAML::Node> LoadYaml(const std::string& what, const std::string& text);

// The 1-based line of `node` in its document (0 when unknown).
int LineOf(const YAML::Node& node);

// kInvalidRequest "<what>, line N: <message>" (or "<what>: <message>" when the line is unknown),
// control characters in `message` escaped so that it stays on one line.
core::Error ErrorAt(const std::string& what, const YAML::Node& node, const std::string& message);

// "a map", "a list", "a value", "nothing": for "expected X, got Y" messages.
std::string KindName(const YAML::Node& node);

// `text` in double quotes, with quotes, backslashes and control characters escaped so that a
// message stays on one line.
std::string Quote(const std::string& text);

}  // namespace runvoy::config::internal
